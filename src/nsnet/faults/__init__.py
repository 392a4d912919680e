"""Faults for testing distributed software, as pure functions: what a
partition or an impairment means (spec.py), what each sandbox's namespace
must hold for it (tables.py), and the nftables JSON and traffic-control
steps that get it there (nft.py, steps/faults.py). The engine's Faults
service (engine/faults.py) reads the store and runs the steps."""

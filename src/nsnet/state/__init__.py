"""Where nsnet's state lives (docs/design.md has the table), and the only code
that reads or writes it:

    store.py       Store: the local state of one state directory, one interface:
                   the SQLite file (networks, sandboxes, endpoints, links, routes,
                   ports, topology ownership) and `.processes`
    processes.py   ProcessRecords: one JSON file per started process
    jsonread.py    json.loads without the json package (`nsnet ps` start-up)
    cluster/       ClusterStore: overlay networks across hosts (etcd or SQLite)

Import the module you need: this package's own import stays empty, so that
`nsnet ps` and the supervisor (python -I -S) load processes.py alone.
"""

"""nsnet's nftables table: pure builders (ruleset, nftjson) and port specs."""

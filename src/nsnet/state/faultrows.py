"""The store's rows about faults (engine/faults.py): the partition in force,
the impairments, what nsnet last wrote into each sandbox's namespace for them,
and the addresses, interfaces and subnets faults are made of. A mixin of
Store (database.py holds the schema): a sandbox's rows go with it (ON DELETE CASCADE)."""

import json


class FaultRows:
    def partition_groups(self) -> dict[str, int]:
        return dict(self._rows("SELECT sandbox, grp FROM partition_groups"))

    def set_partition_groups(self, groups: list[list[str]]) -> None:
        self._run("DELETE FROM partition_groups")
        self._many("INSERT INTO partition_groups (sandbox, grp) VALUES (?,?)",
                            [(name, number) for number, group in enumerate(groups, 1) for name in group])

    def impairments(self) -> list[tuple[str, str, dict]]:
        """(sandbox, ifname or '', spec) of every impairment."""
        rows = self._rows("SELECT sandbox, ifname, spec FROM impairments ORDER BY sandbox, ifname")
        return [(sandbox, ifname, json.loads(spec)) for sandbox, ifname, spec in rows]

    def set_impairment(self, sandbox: str, ifname: str, spec: dict | None) -> None:
        if spec is None:
            self._run("DELETE FROM impairments WHERE sandbox=? AND ifname=?", (sandbox, ifname))
        else:
            self._run("INSERT OR REPLACE INTO impairments (sandbox, ifname, spec) VALUES (?,?,?)",
                            (sandbox, ifname, json.dumps(spec)))

    def fault_tables(self, active_only: bool = False, also=()) -> dict[str, dict]:
        """sandbox -> what nsnet wrote into its namespace: all, or the active
        ones and those of the sandboxes `also`."""
        names = sorted(also)
        where = f" WHERE active=1 OR sandbox IN ({','.join('?' * len(names))})" if active_only else ""
        rows = self._rows("SELECT sandbox, applied FROM fault_tables" + where, *(names if active_only else ()))
        return {sandbox: json.loads(applied) for sandbox, applied in rows}

    def set_fault_table(self, sandbox: str, applied: dict | None, active: bool = False) -> None:
        if applied is None:
            self._run("DELETE FROM fault_tables WHERE sandbox=?", (sandbox,))
        else:
            self._run("INSERT OR REPLACE INTO fault_tables (sandbox, active, applied) VALUES (?,?,?)",
                            (sandbox, int(active), json.dumps(applied)))

    def faults_in_force(self) -> bool:
        """Is any partition, impairment or fault table in force? (Every change asks.)"""
        return bool(self._rows(
            "SELECT EXISTS (SELECT 1 FROM partition_groups) OR EXISTS (SELECT 1 FROM impairments) "
            "OR EXISTS (SELECT 1 FROM fault_tables WHERE active=1)")[0][0])

    def _per_sandbox(self, sandboxes, sql: str) -> dict[str, list]:
        """sandbox -> values, from `sql` with three `IN ({marks})` lists of the sandboxes."""
        names = sorted(set(sandboxes))
        out: dict[str, list] = {name: [] for name in names}
        for sandbox, value in self._rows(sql.format(marks=",".join("?" * len(names))), *names * 3):
            out[sandbox].append(value)
        return out

    def addresses(self, sandboxes) -> dict[str, list[str]]:
        """sandbox -> its addresses of both families (networks and direct links), for the given sandboxes."""
        v4, v6 = (self._per_sandbox(sandboxes, (
            f"SELECT sandbox, {ip} FROM endpoints WHERE {ip} IS NOT NULL AND sandbox IN ({{marks}}) "
            f"UNION ALL SELECT a, substr({ip}_a, 1, instr({ip}_a, '/') - 1) FROM links WHERE {ip}_a IS NOT NULL "
            f"AND a IN ({{marks}}) UNION ALL SELECT b, substr({ip}_b, 1, instr({ip}_b, '/') - 1) FROM links "
            f"WHERE {ip}_b IS NOT NULL AND b IN ({{marks}})")) for ip in ("ip", "ip6"))
        return {name: ips + v6[name] for name, ips in v4.items()}

    def interfaces(self, sandboxes) -> dict[str, list[str]]:
        """sandbox -> the interfaces nsnet made in it (networks and direct links)."""
        return self._per_sandbox(sandboxes, (
            "SELECT sandbox, ifname FROM endpoints WHERE ifname IS NOT NULL AND sandbox IN ({marks}) "
            "UNION ALL SELECT a, ifname_a FROM links WHERE a IN ({marks}) "
            "UNION ALL SELECT b, ifname_b FROM links WHERE b IN ({marks})"))

    def subnets_and_gateways(self) -> tuple[list[str], list[str]]:
        """Every subnet nsnet addresses sandboxes from (networks, direct links)
        and the host's addresses on the networks."""
        subnets, gateways = [], []
        for row in self._rows("SELECT subnet, gateway, subnet6, gateway6 FROM networks"):
            subnets += [c for c in (row[0], row[2]) if c]
            gateways += [g for g in (row[1], row[3]) if g]
        for row in self._rows("SELECT ip_a, ip6_a FROM links"):
            subnets += [c for c in row if c]
        return subnets, gateways

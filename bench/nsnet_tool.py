"""nsnet itself, through its Python API, as one more tool of the same shape
as the peers.  Skipped with a note when `import nsnet` fails.

    create_sandbox(i) = eng.sandbox_create(str(i))   (makes the netns: "netns" time)
    attach(i)         = eng.network_connect("net0", str(i)[, publish=["<33000+i>:8080"]])
    teardown          = eng.sandbox_rm(str(i)) each, then eng.network_rm("net0", force=True)
"""

import inspect

from .tool import CONTAINER_PORT, Endpoint, Tool

SUBNET, GATEWAY = "10.88.0.0/16", "10.88.0.1"
HOSTPORT_BASE = 33000


def import_error() -> str | None:
    try:
        import nsnet  # noqa: F401
        from nsnet import Engine  # noqa: F401
    except Exception as e:
        return f"import nsnet failed ({type(e).__name__}: {e})"
    return None


class NsnetTool(Tool):
    family = "nsnet"

    def __init__(self, ports: bool = False):
        super().__init__(ports)
        self.name = "nsnet-port" if ports else "nsnet"
        self.label = "nsnet + port" if ports else "nsnet"
        self.gateway = GATEWAY
        self.eng = None

    def available(self):
        why = import_error()
        if why is None and self.ports:
            from nsnet import Engine

            if "publish" not in inspect.signature(Engine.network_connect).parameters:
                why = "this nsnet's network_connect() takes no publish="
        return why

    def setup_host(self, host):
        super().setup_host(host)
        from nsnet import Engine

        kw = {"host_netns": host.name, "state_dir": f"{host.tmpdir}/state"}
        if "netns_prefix" in inspect.signature(Engine).parameters:
            kw["netns_prefix"] = host.sandbox_prefix  # cleanup finds them on failure
        self.eng = Engine(**kw)
        net = self.eng.network_create("net0", subnet=SUBNET)
        self.gateway = (net or {}).get("gateway") or GATEWAY
        self.netns: dict[int, str] = {}

    def create_sandbox(self, i):
        sb = self.eng.sandbox_create(str(i))
        self.netns[i] = sb.get("netns") if isinstance(sb, dict) else self.eng.netns_name(str(i))
        return self.netns[i]

    def attach(self, i):
        if self.ports:
            port = HOSTPORT_BASE + i
            ep = self.eng.network_connect("net0", str(i), publish=[f"{port}:{CONTAINER_PORT}"])
        else:
            port, ep = None, self.eng.network_connect("net0", str(i))
        self.endpoints[i] = Endpoint(self.netns[i], (ep or {}).get("ip"), port)
        return self.endpoints[i]

    def remove_sandbox(self, i):
        self.eng.sandbox_rm(str(i))

    def teardown_all(self):
        times = super().teardown_all()
        self.eng.network_rm("net0", force=True)
        return times

    def close(self):
        if self.eng is not None:
            self.eng.close()
            self.eng = None

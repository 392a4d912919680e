"""A topology picture drawn by graphviz, left to right: the host, then one
block per network (its node, then its sandboxes in columns of graph.column_height).
Small pictures draw every attachment with its interface name; large ones
draw the block as the attachment and edges only to a sandbox's other networks."""

from .graph import Picture, column_height, groups, network_lines, rows, sandbox_lines

EDGE_LABELS_UP_TO = 16  # sandboxes; above this, details only inside the boxes
NETWORK_FILL, INTERNAL_FILL, SANDBOX_FILL, HOST_FILL = "#bfdbfe", "#fde68a", "#dcfce7", "#e2e8f0"


def to_dot(pic: Picture):
    import graphviz

    g = graphviz.Graph("nsnet", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "label": pic.title,
                                            "labelloc": "t", "nodesep": "0.12", "ranksep": "0.6",
                                            "splines": "true"},
                       node_attr={"fontname": "Helvetica", "fontsize": "10"},
                       edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#64748b"})
    g.node("host", pic.host + "".join(f"\\npublished {p}" for p in pic.ports), shape="box3d", style="filled",
           fillcolor=HOST_FILL)
    small = len(pic.sandboxes) <= EDGE_LABELS_UP_TO
    height = column_height(pic)
    for i, (net, members) in enumerate(groups(pic)):
        with g.subgraph(name=f"cluster_{i}") as block:
            block.attr(label="" if net else "on direct links only", style="rounded,dashed", color="#94a3b8")
            if net:
                block.node(_net(net["name"]), "\\n".join(network_lines(net)), shape="box",
                           style="rounded,filled", fillcolor=INTERNAL_FILL if net.get("internal") else NETWORK_FILL)
            for sb in members:
                block.node(_sb(sb["name"]), "\\n".join(sandbox_lines(sb)), shape="box", style="filled",
                           fillcolor=SANDBOX_FILL)
            for a, b in rows(members, height):  # each column to the right of the one before
                block.edge(_sb(a["name"]), _sb(b["name"]), style="invis")
            if not small and net:  # the block is the attachment: its first column hangs off the network
                for sb in members[:height]:
                    block.edge(_net(net["name"]), _sb(sb["name"]), style="invis")
        if net:
            g.edge("host", _net(net["name"]), label=f"{net['bridge']} {net['gateway']}"
                   if small and net.get("subnet") else "")
        first = net["name"] if net else None
        for sb in members:
            for ifname, _ip, network in sb["ifaces"]:
                if network and (small or network != first):
                    g.edge(_net(network), _sb(sb["name"]), label=(ifname or "") if small else "")
    for link in pic.links:
        g.edge(_sb(link["a"]), _sb(link["b"]), color="#15803d", penwidth="2", constraint="false",
               taillabel=link["ifname_a"] if small else "", headlabel=link["ifname_b"] if small else "")
    return g


def _net(name: str) -> str:
    return f"net {name}"


def _sb(name: str) -> str:
    return f"sb {name}"

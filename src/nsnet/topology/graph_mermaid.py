"""A topology picture as Mermaid (`-o x.mmd`: GitHub, GitLab and most Markdown
viewers draw it): a subgraph per network holding its sandboxes in columns of
graph.column_height (invisible links `~~~` place them), links between sandboxes as
thick edges, a sandbox's other networks as plain ones. Node ids are made up
(n0, s0, ...): names may hold characters Mermaid ids cannot."""

from .graph import Picture, column_height, groups, network_lines, rows, sandbox_lines


def to_mermaid(pic: Picture) -> str:
    groups_, height = groups(pic), column_height(pic)
    nets = {net["name"]: f"n{i}" for i, (net, _) in enumerate(groups_) if net}
    sbs = {sb["name"]: f"s{i}" for i, sb in enumerate(pic.sandboxes)}
    lines = [f"%% nsnet graph: {pic.title}", "flowchart LR",
             f"  host[[{_text(pic.host, *(f'published {p}' for p in pic.ports))}]]"]
    for i, (net, members) in enumerate(groups_):
        block = nets[net["name"]] if net else f"loose{i}"
        title = " · ".join(network_lines(net)) if net else "on direct links only"
        lines.append(f"  subgraph {block}[{_text(title)}]")
        lines += [f"    {sbs[sb['name']]}[{_text(*sandbox_lines(sb))}]" for sb in members]
        lines += [f"    {sbs[a['name']]} ~~~ {sbs[b['name']]}" for a, b in rows(members, height)]
        lines.append("  end")
        if net:
            lines.append(f"  host --- {block}")
    for net, members in groups_:
        first = net["name"] if net else None
        for sb in members:
            lines += [f"  {nets[network]} ---|{_text(ifname or '')}| {sbs[sb['name']]}"
                      for ifname, _ip, network in sb["ifaces"] if network in nets and network != first]
    for link in pic.links:
        ends = _text(f"{link['ifname_a']} - {link['ifname_b']}")
        lines.append(f"  {sbs[link['a']]} ===|{ends}| {sbs[link['b']]}")
    return "\n".join(lines) + "\n"


def _text(*lines: str) -> str:
    """A quoted Mermaid label: lines joined by <br/>, quotes as entities."""
    return '"' + "<br/>".join(line.replace('"', "#quot;") for line in lines) + '"'

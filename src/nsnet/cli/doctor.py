"""`nsnet doctor [--fix]`: the store against what the kernel holds of nsnet's."""

from . import output

FOUND = 1  # the exit code when something was found (fixed or not); 0: clean


def doctor(ctx, fix):
    eng = ctx.engine
    found = eng.doctor()
    result = eng.doctor_fix() if fix and found else {}
    left = eng.doctor() if fix and found else found
    if ctx.as_json:
        output.emit_json({"found": found, "fixed": bool(fix and found), "left": left,
                          "errors": result.get("errors", []), "warnings": result.get("warnings", [])})
    else:
        for f in found:
            output.line(f"{f['kind']:<11} {f['subject']}: {f['problem']}")
        for note in result.get("warnings", []) + result.get("errors", []):
            output.warning(note)
        if not found:
            output.line("clean: the store and the kernel agree")
        elif fix:
            output.line(f"{len(found)} found, {len(found) - len(left)} fixed" +
                        (f", {len(left)} left: {'; '.join(x['subject'] + ': ' + x['problem'] for x in left)}"
                         if left else ""))
        else:
            output.line(f"{len(found)} found (nsnet doctor --fix repairs them)")
    if found:
        raise SystemExit(FOUND)

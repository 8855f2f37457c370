#!/usr/bin/env python3
"""Second pass of scripts/mutate: the mutants gremlins reports NOT COVERED
because they sit in a switch's case expression or a one-line const. Go's
coverage blocks start after a case's colon and hold no declarations, so
gremlins never sees those as run — although the tests do run them. This pass applies each such mutant to a
copy of the module and runs the package's tests, as gremlins would.

usage: cases.py RESULT.json PKG [TIMEOUT_SECONDS] [all|timedout]
With "all", every NOT COVERED mutant is tried, case expression or not: to
check, after writing tests, that they now kill what no test reached. With
"timedout", the mutants gremlins counted as TIMED OUT are run again: on a
loaded or paused machine a test run can time out without the mutant having
done anything, and a timed-out mutant counts as killed.
Run it from a checkout of the commit the result was made on: the result's
line numbers are that commit's.
Prints one line per mutant (KILLED/LIVED, or NOT VIABLE when the mutant
does not build) and a last line: "cases: killed K, lived L, not viable N".
"""
import json, os, shutil, subprocess, sys, tempfile

SWAPS = {
    "CONDITIONALS_BOUNDARY": {"<": "<=", "<=": "<", ">": ">=", ">=": ">"},
    "CONDITIONALS_NEGATION": {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"},
    "ARITHMETIC_BASE": {"+": "-", "-": "+", "*": "/", "/": "*", "%": "*"},
    "INVERT_NEGATIVES": {"-": "+"},
    "INCREMENT_DECREMENT": {"++": "--", "--": "++"},
}


def operator_at(line, col):
    """The operator token starting at 1-based byte column col."""
    i = col - 1
    two = line[i:i + 2].decode()
    if two in ("<=", ">=", "==", "!=", "++", "--"):
        return two
    return line[i:i + 1].decode()


def main():
    result, pkg = sys.argv[1], sys.argv[2].strip("./").rstrip("/")
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 600
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    everything = mode in ("all", "timedout")
    wanted = "TIMED OUT" if mode == "timedout" else "NOT COVERED"
    root = os.getcwd()
    r = json.load(open(result))
    todo = []
    for f in r.get("files", []):
        for m in f.get("mutations", []):
            if m["status"] == wanted:
                todo.append((f["file_name"], m["line"], m["column"], m["type"]))
    work = tempfile.mkdtemp(prefix="rcbs-mutate-cases-")
    try:
        shutil.copytree(root, os.path.join(work, "m"), ignore=shutil.ignore_patterns(".git", "rcbs-demo", "rcbs-sim"))
        mod = os.path.join(work, "m")
        killed = lived = viable_not = 0
        for name, ln, col, typ in todo:
            path = os.path.join(mod, pkg, name)
            src = open(path, "rb").read()
            lines = src.split(b"\n")
            line = lines[ln - 1]
            if not everything and not line.strip().startswith((b"case ", b"const ")):
                print(f"  SKIPPED {typ} at {pkg}/{name}:{ln}:{col} (not a case expression: really not covered)")
                continue
            op = operator_at(line, col)
            new = SWAPS.get(typ, {}).get(op)
            if new is None:
                print(f"  SKIPPED {typ} at {pkg}/{name}:{ln}:{col} (no rule for {op!r})")
                continue
            i = col - 1
            lines[ln - 1] = line[:i] + new.encode() + line[i + len(op):]
            open(path, "wb").write(b"\n".join(lines))
            try:
                run = subprocess.run(["go", "test", "-count=1", "-failfast", "./" + pkg], cwd=mod,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
                status = "KILLED" if run.returncode != 0 else "LIVED"
                if b"[build failed]" in run.stdout or b"[setup failed]" in run.stdout:
                    status = "NOT VIABLE"  # e.g. - between strings: no program to test
            except subprocess.TimeoutExpired:
                status = "KILLED"  # timed out: counted as gremlins does
            finally:
                open(path, "wb").write(src)
            killed += status == "KILLED"
            lived += status == "LIVED"
            viable_not += status == "NOT VIABLE"
            print(f"  {status} {typ} at {pkg}/{name}:{ln}:{col} ({op} -> {new})", flush=True)
        print(f"cases: killed {killed}, lived {lived}, not viable {viable_not}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

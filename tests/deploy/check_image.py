#!/usr/bin/python3
"""The image's runtime stage provides every shared library the installed binaries need.

  check_image.py DOCKERFILE BUILD_DIR

Installs BUILD_DIR into a staging prefix (`cmake --install`, what the Dockerfile's build
stage does), finds every ELF file there, and maps each library `ldd` resolves to its Debian
package (`dpkg -S`). Each package of a library a binary links directly (DT_NEEDED) must be
in the runtime stage's `apt-get install` list; each package of an indirect one in that list
or pulled in by it (Depends / Pre-Depends of the listed packages, from dpkg's database).
Also: the stages are Debian bookworm / bookworm-slim, the runtime installs no -dev package,
and it runs as a non-root user."""
import os
import re
import shlex
import subprocess
import sys
import tempfile

dockerfile, build_dir = sys.argv[1], sys.argv[2]
problems = []


def want(cond, what):
    if not cond:
        problems.append(what)


# --- The Dockerfile: stages, and the runtime stage's apt-get install list.
with open(dockerfile, encoding="utf-8") as f:
    text = re.sub(r"\\\n", " ", f.read())  # continuation lines
lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
stages, current = {}, None
for line in lines:
    m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
    if m:
        current = (m.group(2) or str(len(stages))).lower()
        stages[current] = {"from": m.group(1), "lines": []}
    elif current:
        stages[current]["lines"].append(line)
want(stages.get("build", {}).get("from") == "debian:bookworm", "build stage FROM debian:bookworm")
want(list(stages)[-1:] == ["runtime"], "the last stage is `runtime`")
runtime = stages.get("runtime", {"from": "", "lines": []})
want(runtime["from"] == "debian:bookworm-slim", "runtime stage FROM debian:bookworm-slim")
listed = set()
for line in runtime["lines"]:
    if not line.upper().startswith("RUN "):
        continue
    for command in re.split(r"&&|;", line[4:]):
        words = shlex.split(command)
        if "apt-get" in words and "install" in words:
            args = words[words.index("install") + 1:]
            listed |= {w for w in args if not w.startswith("-")}
want(listed, "no apt-get install in the runtime stage")
want(not [p for p in listed if p.endswith("-dev")], "runtime installs -dev packages")
users = [l.split()[1] for l in runtime["lines"] if l.upper().startswith("USER ")]
want(users and users[-1].split(":")[0] not in ("0", "root"), "runtime stage ends as a non-root USER")

# --- What dpkg knows: file -> package, and each installed package's dependencies.
installed_deps = {}
out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Depends}, ${Pre-Depends}\n"],
                     capture_output=True, text=True, check=True).stdout
for row in out.splitlines():
    name, _, deps = row.partition("\t")
    alternatives = [re.sub(r"[:(].*", "", d).strip() for d in re.split(r"[,|]", deps)]
    installed_deps[name] = {d for d in alternatives if d}


def closure(roots):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(installed_deps.get(p, ()))
    return seen


def package_of(path):
    # usrmerge: dpkg may know the file under /lib or under /usr/lib.
    candidates = [path, os.path.realpath(path)]
    for c in list(candidates):
        if c.startswith("/usr/"):
            candidates.append(c[4:])
        else:
            candidates.append("/usr" + c)
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


pulled = closure(listed)
with tempfile.TemporaryDirectory() as staging:
    subprocess.run(["cmake", "--install", build_dir, "--prefix", staging + "/usr/local"],
                   check=True, capture_output=True)
    elves = []
    for root, _, files in os.walk(staging):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    elves.append(path)
    want(any(p.endswith("/bin/invoice-bridge") for p in elves), "invoice-bridge not installed")
    want(any(p.endswith("/bin/d365-sim") for p in elves), "d365-sim not installed")
    for elf in elves:
        short = os.path.relpath(elf, staging)
        needed = set(re.findall(r"\(NEEDED\).*\[(.*)\]",
                                subprocess.run(["readelf", "-d", elf], capture_output=True, text=True).stdout))
        ldd = subprocess.run(["ldd", elf], capture_output=True, text=True).stdout
        for line in ldd.splitlines():
            m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
            if not m:
                continue
            lib, path = m.groups()
            if path == "not":
                problems.append(f"{short}: {lib} not found")
                continue
            pkg = package_of(path)
            if pkg is None:
                problems.append(f"{short}: {lib} ({path}) belongs to no Debian package")
                continue
            if lib in needed:
                want(pkg in listed, f"{short} links {lib}: package {pkg} is not in the runtime apt-get install")
            else:
                want(pkg in pulled, f"{short} needs {lib} (indirectly): package {pkg} is not installed by the runtime stage")
            print(f"{short}: {lib} -> {pkg}{'' if lib in needed else ' (indirect)'}")

for p in problems:
    print("FAIL:", p)
print(f"{len(problems)} problems; runtime packages: {' '.join(sorted(listed))}")
sys.exit(1 if problems else 0)

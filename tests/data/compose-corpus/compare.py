"""Compares what `docker stack deploy` (stack `dk`) and `vswarm stack deploy` (stack `vs`)
created for each corpus file, from the `docker ... inspect` dumps the comparison test writes.

Usage: compare.py OUT_DIR DIR...   Prints one line per file: `SAME DIR` or `DIFF DIR: PATH: ...`.
Known differences (known-differences.txt beside this file: `DIR PATH-PATTERN reason`) are
dropped before comparing; each one used is printed as `KNOWN DIR PATH`.
"""
import fnmatch
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path, default):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text) if text else default
    except FileNotFoundError:
        return default


def rename(value, stack):
    """The stack's name replaced by S in names (S_x) and label values (S)."""
    if isinstance(value, dict):
        return {rename(k, stack): rename(v, stack) for k, v in value.items()}
    if isinstance(value, list):
        return [rename(v, stack) for v in value]
    if isinstance(value, str):
        if value == stack:
            return "S"
        if value.startswith(stack + "_"):
            return "S_" + value[len(stack) + 1:]
    return value


def by_name(items, key):
    # Lists the docker CLI sorts by a name that holds the stack's name (networks, secrets and
    # configs of a service) sort differently under another stack name: compared as sets.
    return sorted(items or [], key=lambda item: json.dumps(item.get(key), sort_keys=True))


def services(out, d, stack, ids):
    result = {}
    for svc in load(f"{out}/{d}.{stack}.services.json", []):
        spec = svc["Spec"]
        for net in spec.get("TaskTemplate", {}).get("Networks", []) or []:
            net["Target"] = ids.get(net["Target"], net["Target"])
        cs = spec.get("TaskTemplate", {}).get("ContainerSpec", {})
        for s in cs.get("Secrets", []) or []:
            s.pop("SecretID", None)
        for c in cs.get("Configs", []) or []:
            c.pop("ConfigID", None)
        spec = rename(spec, stack)
        template = spec.get("TaskTemplate", {})
        if template.get("Networks"):
            template["Networks"] = by_name(template["Networks"], "Target")
        cs = template.get("ContainerSpec", {})
        for key, name in (("Secrets", "SecretName"), ("Configs", "ConfigName")):
            if cs.get(key):
                cs[key] = by_name(cs[key], name)
        result[spec["Name"]] = spec
    return result


def networks(out, d, stack):
    result = {}
    for n in load(f"{out}/{d}.{stack}.networks.json", []):
        keep = {k: n.get(k) for k in ("Name", "Driver", "Scope", "Internal", "Attachable", "Options", "Labels")}
        # What the daemon chose: the VXLAN ID and, unless the file gave one, the subnet.
        (keep["Options"] or {}).pop("com.docker.network.driver.overlay.vxlanid_list", None)
        ipam = n.get("IPAM") or {}
        subnets = [(c or {}).get("Subnet", "") for c in ipam.get("Config") or []]
        chosen = re.compile(r"^(10\.0\.\d+\.0/24|172\.(1[7-9]|2\d|3[01])\.0\.0/16)$")
        keep["IPAM"] = {"Driver": ipam.get("Driver"), "Subnets": sorted(s for s in subnets if not chosen.match(s))}
        result[rename(n["Name"], stack)] = rename(keep, stack)
    return result


def objects(out, d, stack, kind):
    return {rename(o["Spec"]["Name"], stack): rename(o["Spec"], stack) for o in load(f"{out}/{d}.{stack}.{kind}.json", [])}


def warnings(path):
    """The keys the deployment said it ignores: docker's `Ignoring unsupported options: a, b`
    and `Ignoring deprecated options:` blocks (`key: why` lines), as vswarm prints them too."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        return []
    found = []
    for line in text.splitlines():
        line = line.strip().removeprefix("! warning: ")
        if line.startswith("Ignoring unsupported options: "):
            found += ["unsupported " + k for k in line.split(": ", 1)[1].split(", ")]
        m = re.match(r"^(container_name|expose): ", line)
        if m:
            found.append("deprecated " + m.group(1))
    return sorted(set(found))


def diff(a, b, path, found):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k), b.get(k), f"{path}.{k}" if path else k, found)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", found)
    elif a != b and not (a in (None, {}, [], "", 0, False) and b in (None, {}, [], "", 0, False)):
        found.append((path, a, b))


def main():
    out, dirs = sys.argv[1], sys.argv[2:]
    known = []
    for line in open(os.path.join(HERE, "known-differences.txt")):
        line = line.strip()
        if line and not line.startswith("#"):
            parts = line.split(None, 2)
            known.append((parts[0], parts[1]))
    for d in dirs:
        ids = {}
        for line in open(f"{out}/{d}.ids").read().splitlines():
            if line.strip():
                i, name = line.split(None, 1)
                ids[i] = name
        rc_dk = open(f"{out}/{d}.dk.rc").read().strip()
        rc_vs = open(f"{out}/{d}.vs.rc").read().strip()
        dk = {"rc": "ok" if rc_dk == "0" else "failed", "warnings": warnings(f"{out}/{d}.dk.out"),
              "services": services(out, d, "dk", ids), "networks": networks(out, d, "dk"),
              "secrets": objects(out, d, "dk", "secrets"), "configs": objects(out, d, "dk", "configs")}
        vs = {"rc": "ok" if rc_vs == "0" else "failed", "warnings": warnings(f"{out}/{d}.vs.out"),
              "services": services(out, d, "vs", ids), "networks": networks(out, d, "vs"),
              "secrets": objects(out, d, "vs", "secrets"), "configs": objects(out, d, "vs", "configs")}
        found = []
        if dk["rc"] == "failed" and vs["rc"] == "failed":
            # Both refuse the file. The docker CLI may have created part of the stack first
            # (networks, then services in Go's map order); vswarm refuses before creating
            # anything. Only the refusal is compared.
            print(f"SAME {d} (both refuse it)")
            continue
        diff(dk, vs, "", found)
        left = []
        for path, a, b in found:
            k = next((p for (kd, p) in known if kd in (d, "*") and fnmatch.fnmatchcase(path, p)), None)
            if k:
                print(f"KNOWN {d} {path}")
            else:
                left.append((path, a, b))
        if left:
            for path, a, b in left[:8]:
                print(f"DIFF {d}: {path}: docker={json.dumps(a)[:200]} vswarm={json.dumps(b)[:200]}")
        else:
            print(f"SAME {d} ({len(dk['services'])} services, rc {dk['rc']})")


main()

"""Writes a manifest of N static routes, half literal and half with a {param}, for the
route-count scaling benchmark:  gen_routes.py N FILE [VERSION]"""
import json
import os
import sys


def main() -> None:
    count, path = int(sys.argv[1]), sys.argv[2]
    version = sys.argv[3] if len(sys.argv) > 3 else "1"
    routes = []
    for i in range(count):
        if i % 2:
            routes.append({"method": "GET", "path": f"/p/{i}/{{id}}", "kind": "static",
                           "options": {"body": {"route": i, "id": "{id}", "v": version}}})
        else:
            routes.append({"method": "GET", "path": f"/r/{i}/item", "kind": "static",
                           "options": {"body": {"route": i, "v": version}}})
    with open(path + ".tmp", "w") as out:
        json.dump({"routes": routes}, out)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()

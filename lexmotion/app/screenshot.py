"""Screenshot of the search page: ``python -m lexmotion.app.screenshot --index IDX --out page.png``.

Starts ``lexmotion serve`` on a free localhost port, opens ``/?q=QUERY`` (the page searches on
load) in headless Chromium (Debian: ``apt-get install chromium``) and saves the screenshot.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m lexmotion.app.screenshot", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", required=True, help="an index of motions")
    p.add_argument("--query", default="a person kicks with the left leg +kick", help="the query shown")
    p.add_argument("-k", type=int, default=3, help="hits shown (default 3)")
    p.add_argument("--out", required=True, help="the .png to write")
    p.add_argument("--size", default="1100,1400", help="window width,height in pixels (default 1100,1400)")
    p.add_argument("--wait", type=float, default=120.0, help="seconds the page may take (the GIFs render on demand)")
    args = p.parse_args(argv)
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        p.exit(2, "error: no headless Chromium found: apt-get install chromium\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "lexmotion.app.cli", "serve", "--index", args.index,
                               "--port", str(port)], env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(int(args.wait * 2)):
            try:
                urllib.request.urlopen(base + "api/info", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    p.exit(2, "error: the server stopped before it answered\n")
                time.sleep(0.5)
        query = urllib.parse.urlencode({"q": args.query, "k": args.k})
        hits = json.loads(urllib.request.urlopen(base + "api/search?" + query, timeout=args.wait).read())["hits"]
        for hit in hits:            # draw the stick figures first, so the page finds them cached
            urllib.request.urlopen(base + f"clip/{urllib.parse.quote(hit['id'])}.gif", timeout=args.wait)
        out = Path(args.out).resolve()
        # a fresh profile and no background traffic: on a closed network Chromium otherwise stalls on lookups
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            "--no-first-run", f"--user-data-dir={profile}", f"--window-size={args.size}",
                            "--virtual-time-budget=20000", f"--screenshot={out}", f"{base}?{query}"],
                           check=True, capture_output=True, timeout=args.wait)
        print(f"wrote {out}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`lexmotion serve`: the page and its search over HTTP on a free localhost port, equal to
`lexmotion search`; bad uploads are messages and the server survives; a port in use is one line."""
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import numpy as np
import pytest
from conftest import serve_tiny

from lexmotion.app.cli import main

pytestmark = pytest.mark.slow      # a server subprocess

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def _post_file(url: str, name: str, content: bytes, fps: str = "20"):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"fps\"\r\n\r\n{fps}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def server(tiny_setup, tmp_path_factory):
    yield from serve_tiny(tiny_setup, tmp_path_factory.mktemp("serve"), "--max-upload-mb", "0.05")


def test_the_page_and_a_search_equal_the_search_command(server, capsys):
    status, kind, page = _get(server["url"])
    assert status == 200 and kind.startswith("text/html")
    assert b"lexmotion" in page and b"motions \xc2\xb7 sparse \xc2\xb7 lexical lexcmlp" in page and b"motion \xe2\x86\x92 text" in page
    for query in ("a person walks forward", "a person walks forward +walking"):   # every clip holds each word here
        status, _, body = _get(server["url"] + "api/search?" + urllib.parse.urlencode({"q": query, "k": 5}))
        assert status == 200
        served = json.loads(body)
        capsys.readouterr()
        assert main(["search", "--index", str(server["root"] / "idx"), query, "-k", "5", "--json"]) == 0
        searched = json.loads(capsys.readouterr().out)
        assert [h["id"] for h in served["hits"]] == [h["id"] for h in searched["hits"]] and served["hits"]
        assert [h["score"] for h in served["hits"]] == [h["score"] for h in searched["hits"]]
        assert served["constraints"] == searched["constraints"]
    status, kind, gif = _get(server["url"] + f"clip/{served['hits'][0]['id']}.gif")
    assert status == 200 and kind == "image/gif" and gif.startswith(b"GIF8")
    status, _, moment = _get(server["url"] + f"clip/{served['hits'][0]['id']}.gif?start=0.5&end=1.5")   # a moment of it
    assert status == 200 and moment.startswith(b"GIF8") and moment != gif


def test_a_hits_words_in_time(server):
    from lexmotion.models.checkpoint import load
    status, _, body = _get(server["url"] + "api/search?" + urllib.parse.urlencode({"q": "a person walks forward", "k": 1}))
    served = json.loads(body)
    hit = served["hits"][0]
    assert served["timelines"] and hit["terms"]
    words = [t["term"] for t in hit["terms"][:2]]
    status, _, body = _get(server["url"] + "api/timeline?" + urllib.parse.urlencode({"id": hit["id"], "words": ",".join(words)}))
    t = json.loads(body)
    assert status == 200 and list(t["words"]) == words and len(t["seconds"]) == len(t["words"][words[0]])
    from lexmotion.data.dataset import MotionDataset
    data = MotionDataset(json.loads((server["root"] / "idx" / "index.json").read_text())["data"])
    row = data.row(data.find(hit["id"]))
    expected = load(server["root"] / "lex").word_timelines(
        {"joints": row["joints"], "fps": float(row["fps"]), "skeleton": data.skeleton(row["skeleton"])}, words)
    assert np.allclose(t["words"][words[0]], expected["words"][words[0]], atol=1e-3)   # the model's own timeline
    for query, message in ((("id", hit["id"]), ("words", "notaword123")), "not a word"), \
                          ((("id", "nope"), ("words", "walk")), "not a clip of this index"):
        status, _, body = _get(server["url"] + "api/timeline?" + urllib.parse.urlencode(dict(query)))
        assert status == 400 and message in json.loads(body)["error"]


def test_more_like_this_equals_search_like(server, capsys):
    status, _, page = _get(server["url"])
    assert b"more like this" in page
    clip_id = json.loads(_get(server["url"] + "api/search?q=a+person+walks&k=1")[2])["hits"][0]["id"]
    status, _, body = _get(server["url"] + "api/like?" + urllib.parse.urlencode({"id": clip_id, "k": 4}))
    served = json.loads(body)
    capsys.readouterr()
    assert main(["search", "--index", str(server["root"] / "idx"), "--like", clip_id, "-k", "4", "--json"]) == 0
    searched = json.loads(capsys.readouterr().out)
    assert status == 200 and served["like"] == clip_id and len(served["hits"]) == 4
    assert [(h["id"], h["score"]) for h in served["hits"]] == [(h["id"], h["score"]) for h in searched["hits"]]
    assert clip_id not in [h["id"] for h in served["hits"]]
    for query, message in (({"id": "nope"}, "not a clip of this index"), ({"id": clip_id, "k": "x"}, "whole number")):
        status, _, body = _get(server["url"] + "api/like?" + urllib.parse.urlencode(query))
        assert status == 400 and message in json.loads(body)["error"]


def test_bad_queries_and_uploads_are_messages_and_the_server_survives(server, sample_root):
    url = server["url"]
    status, _, body = _get(url + "api/search?q=")
    assert status == 400 and "empty query" in json.loads(body)["error"]
    status, _, body = _get(url + "api/search?" + urllib.parse.urlencode({"q": "someone walks +juggles"}))
    assert status == 400 and "not a word of the model's vocabulary" in json.loads(body)["error"]
    status, _, _ = _get(url + "clip/no-such-clip.gif")
    assert status == 404
    some_id = json.loads(_get(url + "api/search?q=a+person+walks&k=1")[2])["hits"][0]["id"]
    status, _, body = _get(url + f"clip/{some_id}.gif?start=soon&end=2")
    assert status == 404 and "numbers of seconds" in json.loads(body)["error"]
    status, reply = _post_file(url + "api/motion", "notes.txt", b"hello")
    assert status == 400 and ".bvh" in reply["error"]
    status, reply = _post_file(url + "api/motion", "big.npy", b"\0" * 200_000)
    assert status == 413 and "limit" in reply["error"]
    status, reply = _post_file(url + "api/motion", "broken.bvh", b"HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    assert status == 400 and reply["error"]
    joints = np.load(next((sample_root / "joints").glob("*.npy")))[:60].astype(np.float32)
    from io import BytesIO
    buffer = BytesIO()
    np.save(buffer, joints)
    status, reply = _post_file(url + "api/motion", "clip.npy", buffer.getvalue(), fps="12.5")
    assert status == 200 and reply["hits"] and all(h["texts"] for h in reply["hits"]), reply
    status, _, body = _get(url + "api/info")
    assert status == 200 and server["process"].poll() is None


def test_a_port_in_use_is_one_line(server, capsys):
    assert main(["serve", "--index", str(server["root"] / "idx"), "--port", str(server["port"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot serve on 127.0.0.1:{server['port']}") and err.count("\n") == 1

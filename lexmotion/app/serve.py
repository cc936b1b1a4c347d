"""``lexmotion serve``: a local search page over an index (Starlette + uvicorn, extra ``[web]``).

Text to motion: a search box (keyword constraints included); each hit shows its animated stick
figure (rendered on demand with ``lexmotion.data.render``, cached; a windowed index's hit shows its
moment), its id and captions, the words behind its score as bars of query weight x motion weight,
and (lexical models) those words' timelines over the whole take, the hit's moment shaded; "more like this" ranks the
indexed motions by their likeness to a hit (``Index.search_motion``). Motion to text: an
uploaded .bvh or .npy (size-limited, read with the same reader as ``lexmotion search
--motion``) is ranked against the captions of the indexed clips. A bad query or upload is a
message on the page; the server goes on. It binds to 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import html
import tempfile
import threading
from pathlib import Path

from lexmotion.data.limits import DEFAULT_LIMITS, ReadLimits, check_duration_option
from lexmotion.errors import LexmotionError

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lexmotion search</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem; color: #222; }
 header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1px solid #ddd; }
 header h1 { font-size: 1.4rem; margin: .4rem 0; } header .meta { color: #666; font-size: .85rem; }
 nav button { border: none; background: none; font-size: 1rem; padding: .6rem 1rem; cursor: pointer; color: #555; }
 nav button.on { border-bottom: 3px solid #2b6cb0; color: #111; font-weight: 600; }
 form { display: flex; gap: .5rem; margin: 1rem 0; flex-wrap: wrap; }
 input[type=text] { flex: 1; min-width: 18rem; font-size: 1rem; padding: .5rem; }
 button.go { font-size: 1rem; padding: .5rem 1.2rem; background: #2b6cb0; color: white; border: none; border-radius: 4px; }
 .hint { color: #666; font-size: .85rem; } .error { color: #b00020; font-weight: 600; margin: .8rem 0; }
 .hit { display: flex; gap: 1rem; border-bottom: 1px solid #eee; padding: .8rem 0; }
 .hit img { width: 220px; height: 220px; background: #f6f6f6; border-radius: 4px; }
 .hit h3 { margin: 0 0 .3rem 0; font-size: 1rem; } .captions { margin: .2rem 0 .6rem 1rem; padding: 0; }
 .bar { display: flex; align-items: center; gap: .5rem; font-size: .85rem; margin: 2px 0; }
 .bar span.w { width: 7rem; text-align: right; } .bar div { height: .8rem; background: #2b6cb0; border-radius: 2px; }
 .bar span.v { color: #666; } .constraints { color: #444; font-size: .9rem; }
 .tab { display: none; } .tab.on { display: block; }
 .timeline { margin-top: .4rem; } .timeline svg { background: #fafafa; border: 1px solid #eee; }
 .timeline .key span { margin-right: .8rem; font-size: .8rem; }
</style></head><body>
<header><h1>lexmotion</h1><div class="meta">__META__</div></header>
<nav><button id="t2m-tab" class="on" onclick="show('t2m')">text → motion</button>
<button id="m2t-tab" onclick="show('m2t')">motion → text</button></nav>
<section id="t2m" class="tab on">
 <form onsubmit="search(event)"><input type="text" id="q" placeholder="a person kicks with the left leg +left -jump" autofocus>
 <input type="number" id="k" value="5" min="1" max="50" style="width:4rem"><button class="go">Search</button></form>
 <div class="hint">+word: every hit carries the word; -word: no hit does. Bars: query weight × motion weight.</div>
 <div id="t2m-out"></div></section>
<section id="m2t" class="tab">
 <form onsubmit="upload(event)"><input type="file" id="file" accept=".bvh,.npy">
 <input type="number" id="fps" value="20" step="any" title="frame rate of a .npy" style="width:5rem">
 <button class="go">Describe</button></form>
 <div class="hint">A .bvh file, or a .npy of joints (frames, joints, 3) at the given frame rate; at most __MAXMB__ MB.</div>
 <div id="m2t-out"></div></section>
<script>
function show(t) { for (const x of ['t2m', 'm2t']) {
  document.getElementById(x).classList.toggle('on', x === t); document.getElementById(x + '-tab').classList.toggle('on', x === t); } }
function esc(s) { const d = document.createElement('div'); d.textContent = s; return d.innerHTML; }
function bars(terms) { if (!terms.length) return '';
  const top = Math.max(...terms.map(t => t.query_weight * t.item_weight));
  return terms.map(t => { const v = t.query_weight * t.item_weight;
    return `<div class="bar"><span class="w">${esc(t.term)}</span><div style="width:${Math.round(200 * v / top)}px"></div>` +
           `<span class="v">${t.query_weight.toFixed(2)} × ${t.item_weight.toFixed(2)}</span></div>`; }).join(''); }
function near(hit) { if (hit.terms.length || !hit.near_terms) return '';   // ranked by the whole vector, no word shown
  const both = hit.near_in_both ? ['in both motions', 'the weaker '] : ['in the motion', ''];
  return `<p class="hint">no shared word is over its threshold ${both[0]}; nearest: ` +
    esc(hit.near_terms.map(t => `${t.term} (${both[1]}${t.motion_weight.toFixed(2)} of ${t.threshold.toFixed(2)})`).join(', ')) + '</p>'; }
function render(out, data, withClip) {
  if (data.error) { out.innerHTML = `<div class="error">${esc(data.error)}</div>`; return; }
  let h = data.constraints && data.constraints.length ? `<p class="constraints">${esc(data.constraints_text)}</p>` : '';
  if (data.words) h += `<p class="constraints">the motion's words: ${esc(data.words.map(w => w[0]).join(', '))}</p>`;
  if (data.like) h += `<p class="constraints">motions most like ${esc(data.like)}, by the cosine of the two motion vectors ` +
    `(bars: its weight × the hit's, on words both show)</p>`;
  if (!data.hits.length) h += '<p>No hit.</p>';
  for (const [i, hit] of data.hits.entries()) {
    const span = hit.start !== undefined ? `?start=${hit.start}&end=${hit.end}` : '';
    const when = hit.start !== undefined ? ` <span class="hint">${hit.start}–${hit.end} s</span>` : '';
    h += `<div class="hit" data-id="${esc(hit.id)}">` + (withClip ? `<img src="clip/${encodeURIComponent(hit.id)}.gif${span}" alt="${esc(hit.id)}">` : '') +
      `<div><h3>${i + 1}. ${esc(hit.id)}${when} <span class="hint">score ${hit.score.toFixed(3)}` +
      (hit.prior !== undefined ? ` (cosine ${(hit.score + hit.prior).toFixed(3)} less hub prior ${hit.prior.toFixed(3)})` : '') +
      `</span>` + (withClip ? ` <a href="#" class="hint" onclick="like(event, 'id=${encodeURIComponent(hit.id)}${span.replace('?', '&')}')">more like this</a>` : '') +
      `</h3><ul class="captions">${hit.texts.map(t => `<li>${esc(t)}</li>`).join('')}</ul>${bars(hit.terms)}${near(hit)}` +
      `<div class="timeline" id="tl-${i}"></div></div></div>`; }
  out.innerHTML = h;
  if (data.timelines) data.hits.forEach((hit, i) => timeline(hit, document.getElementById(`tl-${i}`))); }
const COLOURS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280'];
async function timeline(hit, box) {      // the query words over the whole take; a windowed hit's moment shaded
  const words = (hit.terms.length ? hit.terms : hit.near_terms || []).slice(0, 3).map(t => t.term); if (!words.length) return;
  const r = await fetch(`api/timeline?id=${encodeURIComponent(hit.id)}&words=${encodeURIComponent(words.join(','))}`);
  const t = await r.json(); if (t.error) { box.innerHTML = `<span class="hint">${esc(t.error)}</span>`; return; }
  const W = 420, H = 70, T = Math.max(t.duration, 1e-3), top = Math.max(1e-6, ...Object.values(t.words).flat());
  const x = s => (W * s / T).toFixed(1), y = v => (H - 4 - (H - 8) * v / top).toFixed(1);
  let g = hit.start !== undefined ? `<rect x="${x(hit.start)}" y="0" width="${x(hit.end - hit.start)}" height="${H}" fill="#fde68a"/>` : '';
  Object.entries(t.words).forEach(([w, v], k) => { g += `<polyline fill="none" stroke="${COLOURS[k]}" stroke-width="2" points="` +
    v.map((a, j) => `${x(t.seconds[j])},${y(a)}`).join(' ') + '"/>'; });
  box.innerHTML = `<svg width="${W}" height="${H}" role="img" aria-label="word timelines">${g}</svg>` +
    `<div class="key">${Object.keys(t.words).map((w, k) => `<span style="color:${COLOURS[k]}">■ ${esc(w)}</span>`).join('')}` +
    `<span class="hint">0–${t.duration.toFixed(1)} s</span></div>`; }
async function search(e) { e.preventDefault(); const out = document.getElementById('t2m-out'); out.textContent = 'searching…';
  const r = await fetch(`api/search?q=${encodeURIComponent(document.getElementById('q').value)}&k=${document.getElementById('k').value}`);
  render(out, await r.json(), true); }
async function like(e, params) { e.preventDefault(); show('t2m'); const out = document.getElementById('t2m-out');
  out.textContent = 'searching…'; window.scrollTo(0, 0);   // params: id=ID, and a windowed hit's start and end
  const r = await fetch(`api/like?${params}&k=${document.getElementById('k').value}`); render(out, await r.json(), true); }
async function upload(e) { e.preventDefault(); const out = document.getElementById('m2t-out');
  const f = document.getElementById('file').files[0]; if (!f) { out.innerHTML = '<div class="error">choose a .bvh or .npy file</div>'; return; }
  out.textContent = 'encoding…'; const body = new FormData(); body.append('file', f); body.append('fps', document.getElementById('fps').value);
  const r = await fetch('api/motion', {method: 'POST', body}); render(out, await r.json(), false); }
const start = new URLSearchParams(location.search);          // /?q=...&k=...: search on load
if (start.get('q')) { document.getElementById('q').value = start.get('q');
  if (start.get('k')) document.getElementById('k').value = start.get('k'); search(new Event('submit')); }
</script></body></html>
"""


class SearchService:
    """The index, its model, the clips to render and (made on first use) the captions to describe with."""

    def __init__(self, index_path, model_path=None, device: str = "cpu", max_upload_mb: float = 20.0,
                 cache: str | Path | None = None, limits: ReadLimits = DEFAULT_LIMITS):
        from lexmotion.data.dataset import MotionDataset
        from lexmotion.files import claim_output, mark_folder
        from lexmotion.models.checkpoint import load
        from retrieval.index import Index

        meta = Index.read_meta(index_path)
        if meta["collection"] != "motions":
            raise LexmotionError(f"{index_path}: holds captions; serve an index of motions (the page searches them)")
        self.model_path = model_path or meta["model_path"]
        self.index = Index.load(index_path, model_path=self.model_path).to(device)
        self.model = load(self.model_path, device=device)
        self.data = MotionDataset(meta["data"]) if Path(meta["data"]).is_dir() else None
        self.max_upload = int(max_upload_mb * 2 ** 20)
        self.limits = limits
        if cache:       # the cache writes files by hash: only into a folder of its own
            self.cache = claim_output(cache, "serve-cache", resume=True, can_overwrite=False, option="--cache",
                                      inputs=[index_path, self.model_path, meta["data"]])
        else:
            self.cache = Path(tempfile.mkdtemp(prefix="lexmotion-serve-"))
        self.cache.mkdir(parents=True, exist_ok=True)
        mark_folder(self.cache, "serve-cache")
        self._captions, self._lock = None, threading.Lock()
        self.ids = {item["id"] for item in self.index.items}

    def info(self) -> dict:
        m = self.index.meta
        return {"items": m["n"], "clips": len(self.ids), "window": m.get("window"), "stride": m.get("stride"),
                "segments": "segments" in m,
                "backend": m["backend"], "kind": m["kind"], "model": str(self.model_path),
                "phase": getattr(self.model, "phase", None), "data": m.get("data"), "split": m.get("split")}

    def search(self, query: str, k: int) -> dict:
        from retrieval.constraints import describe
        hits = self.index.search(self.model, self.limits.check_query(query), k=k)
        constraints = hits.constraints
        return {"query": query, "hits": [h.to_dict() for h in hits],
                "timelines": bool(self.model.has_words and self.data is not None),
                "constraints": [c.to_dict() for c in constraints],
                "constraints_text": describe(constraints, len(self.index.items), self.index.meta.get("thresholds"))
                if constraints else ""}

    def like(self, clip_id: str, k: int, start: float | None = None, end: float | None = None) -> dict:
        """The motions most like the indexed clip CLIP_ID (``Index.search_motion``), the clip itself left out;
        with START and END, like that moment of it, the clip's windows overlapping the moment left out."""
        from retrieval.collection import moment_label, moment_query
        query, span = moment_query(self.model, self._data_of(clip_id).clip(clip_id), start, end)
        hits = self.index.search_motion(self.model, query, k=k, exclude=clip_id, span=span)
        like = moment_label(clip_id, span)
        return {"query": like, "like": like, "hits": [h.to_dict() for h in hits],
                "timelines": bool(self.model.has_words), "constraints": []}

    def _data_of(self, clip_id: str):
        """The index's dataset, once CLIP_ID is known to be one of its indexed clips."""
        if clip_id not in self.ids:
            raise LexmotionError(f"{clip_id}: not a clip of this index")
        if self.data is None:
            raise LexmotionError(f"{self.index.meta['data']}: the index's dataset folder is not on this machine, "
                                 "so its clips cannot be read")
        return self.data

    def _row(self, clip_id: str) -> dict:
        return self._data_of(clip_id).row(self.data.find(clip_id))

    def clip_gif(self, clip_id: str, start: float | None = None, end: float | None = None) -> Path:
        """The clip's stick figure (the moment START-END seconds of it, for a windowed hit), rendered once
        (10 fps) and kept in the cache folder."""
        import hashlib

        from lexmotion.data.render import render_gif
        row = self._row(clip_id)
        fps = float(row["fps"])
        frames = (0, len(row["joints"])) if start is None or end is None else \
            (max(0, int(start * fps)), min(len(row["joints"]), int(round(end * fps)) + 1))
        if frames[1] - frames[0] < 2:
            raise LexmotionError(f"{clip_id}: {start}-{end} s is not a moment of this clip")
        key = f"{clip_id}|{frames[0]}|{frames[1]}"
        out = self.cache / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.gif"
        if not out.is_file():
            title = row["texts"][0] if row["texts"] else clip_id
            if start is not None:
                title = f"{title} ({start:g}-{end:g} s)"
            render_gif(row["joints"][frames[0]:frames[1]], fps, self.data.skeleton(row["skeleton"]), out,
                       title=title, max_fps=10.0, size=3.0)
        return out

    def timeline(self, clip_id: str, words: list[str]) -> dict:
        """When each of WORDS (at most 5) happens in the whole clip: ``LexicalModel.word_timelines``."""
        if not self.model.has_words:
            raise LexmotionError("a dense model has no words to place in time")
        words = [w for w in dict.fromkeys(words) if w][:5]
        if not words:
            raise LexmotionError("give the words to place, e.g. words=kick,jump")
        clip = self._data_of(clip_id).clip(clip_id)
        t = self.model.word_timelines(clip, words)
        return {"id": clip_id, "duration": round((len(clip["joints"]) - 1) / clip["fps"], 3),
                "seconds": [round(float(x), 3) for x in t["seconds"]],
                "words": {w: [round(float(x), 4) for x in v] for w, v in t["words"].items()}}

    def captions(self):
        """An in-memory index of the indexed clips' captions (encoded once, on the first upload)."""
        import scipy.sparse as sp

        from retrieval.index import Index
        with self._lock:
            if self._captions is None:
                items = [{"id": it["id"], "texts": [t]} for it in self.index.items for t in it["texts"] if t.strip()]
                if not items:
                    raise LexmotionError("the indexed clips have no captions to describe a motion with")
                vectors = self.model.encode_text([it["texts"][0] for it in items])
                raw = sp.csr_matrix(vectors.to_dense().numpy()) if vectors.is_sparse else vectors.numpy()
                meta = {"backend": "sparse" if vectors.is_sparse else "torch", "kind": self.model.config.kind,
                        "collection": "texts", "n": len(items)}
                self._captions = Index.create(meta, items, raw)
            return self._captions

    def describe_motion(self, name: str, content: bytes, fps, k: int = 5) -> dict:
        """Rank the indexed captions against an uploaded motion, read from its bytes (no file is written)."""
        from lexmotion.data.motion_file import read_motion_bytes
        name = Path(name).name[:120] or "upload"
        suffix = Path(name).suffix.lower()
        if suffix not in (".bvh", ".npy"):
            raise LexmotionError(f"{name}: upload a .bvh file or a .npy of joints, not {suffix or 'a file without suffix'}")
        if len(content) > self.max_upload:
            raise UploadTooLarge(f"{name}: {len(content) / 2 ** 20:.1f} MB is over the {self.max_upload / 2 ** 20:g} MB limit")
        clip = read_motion_bytes(name, content, fps, limits=self.limits)
        vector = self.model.encode_motion([clip])[0]          # once: for the search and for its words
        hits = self.captions().search_motion(self.model, vector, k=k)
        words = self.model.explain(vector, k=10) if self.model.has_words else []
        return {"query": name, "hits": [h.to_dict() for h in hits], "words": words, "constraints": []}


class UploadTooLarge(LexmotionError):
    """A request body over the upload limit (answered 413)."""


class _Guard:
    """ASGI layer in front of the app: a long query string is a 414 and a body over the limit a 413, each
    as soon as it is seen, for bodies with or without a Content-Length (chunked)."""

    def __init__(self, app, max_body: int, max_query: int):
        self.app, self.max_body, self.max_query = app, max_body, max_query

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if len(scope.get("query_string", b"")) > self.max_query:
            return await _send_error(send, 414, f"the query string is over {self.max_query:,} bytes")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _send_error(send, 400, "Content-Length is not a whole number")
            if int(declared) > self.max_body:
                return await _send_error(send, 413, f"the upload ({int(declared) / 2 ** 20:.1f} MB) is over the "
                                                    f"{self.max_body / 2 ** 20:.2f} MB limit")
        received, started = 0, False

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise UploadTooLarge(f"the upload is over the {self.max_body / 2 ** 20:.2f} MB limit")
            return message

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except UploadTooLarge as err:
            if not started:
                await _send_error(send, 413, str(err))


async def _send_error(send, status: int, message: str) -> None:
    import json
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _release_memory() -> None:
    """Hand freed heap pages back to the system after an upload (glibc keeps them otherwise)."""
    import ctypes
    import ctypes.util
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):        # not glibc: nothing to trim
        pass


async def _read_upload(request, service: SearchService) -> tuple[str, bytes, float]:
    """The multipart form's file and fps; a malformed body is one LexmotionError, never a 500."""
    import asyncio
    try:
        # the part limit sits above the body limit: an upload that is too large is the guard's 413
        form = await request.form(max_files=1, max_fields=4, max_part_size=service.max_upload + 2 ** 17)
    except (LexmotionError, asyncio.CancelledError):
        raise
    except Exception as err:             # python-multipart and starlette raise several kinds
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise LexmotionError(f"malformed upload: {reason} (send multipart/form-data with a field 'file')") from None
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise LexmotionError("no file in the upload (field 'file')")
    content = await upload.read(service.max_upload + 1)
    fps = form.get("fps") or "20"
    if not isinstance(fps, str):
        raise LexmotionError("fps must be a number, not a file")
    return upload.filename or "upload", content, service.limits.check_fps(fps.strip()[:40], "fps")


def _motion_endpoint(service: SearchService, request_timeout_s: float, concurrent: int, failed):
    """POST /api/motion: read the upload, then encode it in a worker thread, at most CONCURRENT at a
    time; 503 when the whole request takes over REQUEST_TIMEOUT_S."""
    import asyncio

    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    uploads = asyncio.Semaphore(concurrent)

    async def api_motion(request):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request_timeout_s
        busy = JSONResponse({"error": f"the upload was not read and encoded within {request_timeout_s:g} s; "
                                      "send a shorter clip, or try again"}, status_code=503)
        try:
            name, content, fps = await asyncio.wait_for(_read_upload(request, service), request_timeout_s)
            await asyncio.wait_for(uploads.acquire(), max(deadline - loop.time(), 0.01))
        except asyncio.TimeoutError:
            return busy
        except Exception as err:
            return failed(err)
        # the slot is freed when the encoding ends, even after a timeout answered the client: the
        # semaphore bounds the work running, not only the requests waiting
        work = asyncio.ensure_future(run_in_threadpool(service.describe_motion, name, content, fps))
        work.add_done_callback(lambda _: (uploads.release(), _release_memory()))
        try:
            return JSONResponse(await asyncio.wait_for(asyncio.shield(work), max(deadline - loop.time(), 0.01)))
        except asyncio.TimeoutError:
            return busy
        except Exception as err:
            return failed(err)
    return api_motion


def moment_of(params) -> tuple[float | None, float | None]:
    """A request's start and end in seconds (each None when absent)."""
    try:
        return tuple(None if params.get(k) in (None, "") else float(params[k]) for k in ("start", "end"))
    except ValueError:
        raise LexmotionError("start and end must be numbers of seconds") from None


def create_app(service: SearchService, request_timeout_s: float = 30.0, max_query_bytes: int = 8192,
               concurrent_uploads: int = 2):
    """The Starlette app: the page, /api/info, /api/search, /api/motion, /api/timeline, /api/like and /clip/ID.gif.

    Every bad request is a 4xx with one line; an upload is read from memory with the service's
    limits, at most ``concurrent_uploads`` at a time, and answered 503 after ``request_timeout_s``."""
    import sys
    import traceback

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.routing import Route

    info = service.info()
    meta = (f"{served(info)} · {info['backend']} · {info['kind']} {info['phase'] or ''} · "
            f"{html.escape(Path(info['model']).name)}")
    page = PAGE.replace("__META__", meta).replace("__MAXMB__", f"{service.max_upload / 2 ** 20:g}")

    def failed(err: Exception) -> JSONResponse:
        if isinstance(err, UploadTooLarge):
            return JSONResponse({"error": str(err)}, status_code=413)
        if isinstance(err, LexmotionError):
            return JSONResponse({"error": str(err).splitlines()[0][:500]}, status_code=400)
        traceback.print_exception(err, file=sys.stderr)      # the server's log has it; the client gets no path
        return JSONResponse({"error": "internal error (the server's log has the details)"}, status_code=500)

    # plain functions run in Starlette's thread pool: encoding and rendering do not block the server
    def home(request: Request):
        return HTMLResponse(page)

    def api_info(request: Request):
        return JSONResponse(info)

    def ranked(answer):
        """An endpoint that answers ANSWER(its query parameters, k of 1-50)."""
        def endpoint(request: Request):
            k = request.query_params.get("k", "5")
            if not k.strip().isdigit():
                return JSONResponse({"error": "k must be a whole number"}, status_code=400)
            try:
                return JSONResponse(answer(request.query_params, max(1, min(int(k), 50))))
            except Exception as err:      # the server survives every bad query
                return failed(err)
        return endpoint

    api_search = ranked(lambda params, k: service.search(params.get("q", ""), k))
    api_like = ranked(lambda params, k: service.like(params.get("id", ""), k, *moment_of(params)))

    api_motion = _motion_endpoint(service, request_timeout_s, concurrent_uploads, failed)

    def api_timeline(request: Request):
        try:
            return JSONResponse(service.timeline(request.query_params.get("id", ""),
                                                 request.query_params.get("words", "").split(",")))
        except Exception as err:
            return failed(err)

    def clip(request: Request):
        try:
            start, end = moment_of(request.query_params)
            if start is None or end is None:
                start = end = None
            return FileResponse(service.clip_gif(request.path_params["clip_id"], start, end), media_type="image/gif")
        except Exception as err:
            response = failed(err)
            response.status_code = 404 if isinstance(err, LexmotionError) else 500
            return response

    app = Starlette(routes=[Route("/", home), Route("/api/info", api_info), Route("/api/search", api_search),
                            Route("/api/motion", api_motion, methods=["POST"]), Route("/api/timeline", api_timeline),
                            Route("/api/like", api_like), Route("/clip/{clip_id:path}.gif", clip)])
    return _Guard(app, service.max_upload + 2 ** 16, max_query_bytes)


def served(info: dict) -> str:
    """What an index holds, in words: '774 motions', '898 windows of 4 s of 170 motions' or '985 segments of 170
    motions'."""
    if info.get("window"):
        return f"{info['items']} windows of {info['window']:g} s of {info['clips']} motions"
    if info.get("segments"):
        return f"{info['items']} segments of {info['clips']} motions"
    return f"{info['items']} motions"


def check_port(host: str, port: int) -> None:
    """A port in use (or not ours to bind) is one line now, not a uvicorn traceback later."""
    import socket
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            raise LexmotionError(f"cannot serve on {host}:{port}: {err.strerror or err} (pass another --port)") from None


def serve(args) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise LexmotionError("lexmotion serve needs the web extra: pip install 'lexmotion[web]' "
                             "(starlette, uvicorn, python-multipart)") from None
    if not 0 < args.port < 65536:
        raise LexmotionError(f"--port must be between 1 and 65535, not {args.port}")
    check_port(args.host, args.port)
    if not (0 < args.max_upload_mb <= 1024):
        raise LexmotionError(f"--max-upload-mb must be above 0 and at most 1024, not {args.max_upload_mb}")
    if not (0 < args.request_timeout_s <= 3600):
        raise LexmotionError(f"--request-timeout-s must be above 0 and at most 3600, not {args.request_timeout_s}")
    limits = check_duration_option(args.max_duration_s)
    from lexmotion.device import resolve_device
    service = SearchService(args.index, args.model, str(resolve_device(args.device)), args.max_upload_mb, limits=limits)
    app = create_app(service, request_timeout_s=args.request_timeout_s)
    info = service.info()
    print(f"serving {served(info)} ({info['backend']}, {info['model']}) on http://{args.host}:{args.port}/ "
          "(Ctrl+C stops)", flush=True)
    # h11 answers a request line or headers over 16 KB with a 400 itself; idle connections close after 5 s
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", http="h11", timeout_keep_alive=5)
    return 0

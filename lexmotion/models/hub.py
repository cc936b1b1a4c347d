"""Checkpoints by Hugging Face hub id: ``hf://owner/name[@revision]``, or ``owner/name`` where no
such local folder exists, resolved to a folder of the hub cache through ``huggingface_hub``
(downloaded unless HF_HUB_OFFLINE=1). ``lexmotion export`` writes folders to upload."""
from __future__ import annotations

import re
from pathlib import Path

from lexmotion.errors import LexmotionError, WrongPathError

HUB_PREFIX = "hf://"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")


def hub_id(spec) -> str | None:
    """'hf://owner/name[@revision]', or 'owner/name' that is no local path -> 'owner/name[@revision]'."""
    text = str(spec)
    if text.startswith(HUB_PREFIX):
        return text[len(HUB_PREFIX):]
    if _HUB_ID.match(text) and not Path(text).exists():
        return text
    return None


def local_checkpoint(spec) -> Path:
    """A checkpoint folder on this disk: the path itself, or a hub model from the cache (downloaded
    unless HF_HUB_OFFLINE=1). Offline with nothing cached is one line naming the model."""
    repo = hub_id(spec)
    if repo is None:
        return Path(spec)
    from lexmotion.models.text import hub_offline
    name, _, revision = repo.partition("@")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError
    except ImportError:
        raise LexmotionError(f"{spec}: loading from the hub needs huggingface_hub (pip install huggingface_hub)") from None
    offline = hub_offline()
    try:
        return Path(snapshot_download(name, revision=revision or None, local_files_only=offline))
    except HFValidationError as err:
        raise WrongPathError(f"{spec}: not a Hugging Face model id ({str(err).splitlines()[0][:120]})") from None
    except Exception as err:          # no network, not cached, no such repo, no access: one line
        why = ("it is not in the Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it" if offline
               else f"it could not be downloaded ({type(err).__name__}: {str(err).splitlines()[0][:120]})")
        raise WrongPathError(f"{spec}: no such local folder, and {why}") from None

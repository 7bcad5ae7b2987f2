"""Getting models from the Hugging Face Hub: the curated starter list, downloads through
``huggingface_hub`` (resumable, checked against the hub's hash, written atomically into
the right models subfolder, cancellable) and the access token for gated repos.

- :mod:`nodes.hub.starters` — :data:`~nodes.hub.starters.STARTERS`, the starter models as data
- :mod:`nodes.hub.sources` — what the user typed (``owner/repo``, ``owner/repo/file``, a
  hub URL) as a :class:`~nodes.hub.sources.Source`, and which files of a repo to fetch
- :mod:`nodes.hub.downloads` — :func:`~nodes.hub.downloads.download` (with
  :mod:`~nodes.hub.checks`, the hub's hash, and :mod:`~nodes.hub.progress`, its events)
  and errors
- :mod:`nodes.hub.token` — the token the user pasted, stored with the platform's keyring or
  in a private file, never logged

The package imports no torch and no Qt: the CLI and the app both use it. Nothing here runs
at import; ``huggingface_hub`` is imported when a download starts.
"""

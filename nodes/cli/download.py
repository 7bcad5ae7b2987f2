"""``daguerre download``: fetch a starter model, or a file or repo from Hugging Face, into
the models folder (through :mod:`nodes.hub.downloads`), with a progress line on stderr.

``daguerre download --list`` shows the starters with size, licence and page;
``daguerre download --login`` reads a token from stdin and stores it (for gated repos).
Ctrl+C stops a download and keeps its hidden part file: the same command resumes it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TextIO

from nodes.cli.common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, UsageError, printable
from nodes.hub.downloads import (
    DownloadError,
    DownloadProgress,
    download,
    hub_endpoint,
    plan_for_source,
    plan_for_starter,
)
from nodes.hub.sources import SourceError, parse_source
from nodes.hub.starters import STARTERS, find_starter, human_size
from nodes.hub.token import mask, resolve_token, save_token
from nodes.settings import Settings


def cmd_download(args: argparse.Namespace) -> int:
    if args.list:
        for s in STARTERS:
            size = human_size(s.size, approximate=True)
            print(f"{s.key:24} {s.title} — {s.family}, {size}, {s.licence}\n{'':24} {s.link}")
        return EXIT_OK
    if args.login:
        token = sys.stdin.readline().strip()
        where = save_token(token)
        print(f"token {mask(token)} stored in {where}" if token else "token cleared")
        return EXIT_OK
    if not args.source:
        raise UsageError("name a starter (daguerre download --list), a repo id or a URL")
    token = resolve_token()
    starter = find_starter(args.source)
    try:
        if starter is not None:
            plan = plan_for_starter(starter)
            if args.kind and args.kind != plan.kind:
                raise UsageError(f"{starter.key} is a {plan.kind} model; leave out --kind")
        else:
            source = parse_source(args.source, _host(hub_endpoint()))
            plan = plan_for_source(source, args.kind or "checkpoints", token=token)
    except SourceError as exc:
        raise UsageError(str(exc)) from exc
    except DownloadError as exc:
        print(f"daguerre: {exc}", file=sys.stderr)
        return EXIT_FAILED
    models = Settings.load().model_dirs(args.models)[0]
    bar = _Bar(sys.stderr, quiet=args.quiet)
    print(f"downloading {printable(plan.title)} into {models}", file=sys.stderr)
    try:
        result = download(plan, models, token=token, on_progress=bar)
    except DownloadError as exc:
        bar.end()
        print(f"daguerre: {printable(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        bar.end()
        print("stopped: run the same command again to resume", file=sys.stderr)
        return EXIT_CANCELLED
    bar.end()
    state = "already there" if result.already_there else human_size(result.downloaded)
    print(f"{result.destination} ({state})")
    return EXIT_OK


def _host(endpoint: str) -> str:
    return endpoint.split("://", 1)[-1].split("/", 1)[0]


def format_progress(event: DownloadProgress) -> str:
    """``fast.safetensors 45% 12.3 MB/s, 1:23 left`` (file n/m when there are several)."""
    share = f"{event.fraction * 100:.0f}%" if event.fraction is not None else human_size(event.done)
    which = f" ({event.index + 1}/{event.count})" if event.count > 1 else ""
    speed = f" {human_size(int(event.speed))}/s" if event.speed else ""
    eta = f", {format_eta(event.eta)} left" if event.eta is not None and event.speed else ""
    return f"{printable(event.file)}{which} {share}{speed}{eta}"


def format_eta(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Bar:
    """A live bar on a terminal; in a log, a line per file and per tenth done."""

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.live = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.logged = (-1, -1)
        self.last = 0.0

    def __call__(self, event: DownloadProgress) -> None:
        if self.quiet:
            return
        fraction = event.fraction or 0.0
        if self.live:
            now = time.monotonic()
            if now - self.last < 0.1 and fraction < 1:
                return
            self.last = now
            width = 24
            filled = int(width * fraction)
            bar = "█" * filled + "░" * (width - filled)
            self.stream.write(f"\r\x1b[2K  {bar} {format_progress(event)}")
            self.stream.flush()
            return
        tenth = int(fraction * 10)
        if (event.index, tenth) != self.logged:
            self.logged = (event.index, tenth)
            print(f"  {format_progress(event)}", file=self.stream)

    def end(self) -> None:
        if self.live and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

"""What the app does with a piece of advice: apply its fix, or stop showing it.

Both are edits of the document, so both are undo steps and both are saved with the
workflow: **Apply** sets the fix's param values on the advice's node (one step, however
many values), and **Don't show again for this node** adds the advice's rule to the node's
``extra["silenced"]`` (:data:`nodes.advice.rules.SILENCED_KEY`), which validation reads.
Advice silenced everywhere comes from the ``silenced_advice`` setting, through
:func:`advice_context`. Advice never changes a value by itself: only these do, when the
user asks.
"""

from __future__ import annotations

from collections.abc import Callable

from desktop.document import Document
from desktop.panels.problems import ProblemsPanel
from nodes.advice import Advice
from nodes.advice.rules import SILENCED_KEY, AdviceContext, silenced_on
from nodes.graph import GraphError
from nodes.settings import Settings

__all__ = [
    "advice_context",
    "apply_advice",
    "connect_advice",
    "silence_advice",
    "silence_everywhere",
]


def advice_context(settings: Settings) -> AdviceContext:
    """What the rules know from the settings: the device and what is silenced everywhere."""
    return AdviceContext(
        device=settings.device,
        precision=settings.precision,
        silenced=frozenset(settings.silenced_advice),
    )


def apply_advice(document: Document, advice: Advice) -> bool:
    """Set the advice's fix on its node as one undo step; False when there is nothing to
    set (no fix, the node is gone) or the document refuses a value."""
    node_id, fix = advice.node_id, advice.fix
    if not fix or node_id is None or node_id not in document.graph.nodes:
        return False
    title = document.graph.display_title(node_id)
    try:
        document.set_params(node_id, dict(fix), text=f"Apply advice to {title}")
    except GraphError:
        return False
    return True


def silence_advice(document: Document, advice: Advice) -> bool:
    """Stop showing the advice's rule on its node (an undo step, saved with the file)."""
    node_id = advice.node_id
    if not advice.rule or node_id is None or node_id not in document.graph.nodes:
        return False
    silenced = silenced_on(document.graph.nodes[node_id])
    if advice.rule in silenced:
        return False
    title = document.graph.display_title(node_id)
    document.set_node_extra(
        node_id, SILENCED_KEY, [*silenced, advice.rule], text=f"Hide advice on {title}"
    )
    return True


def silence_everywhere(settings: Settings, advice: Advice) -> bool:
    """Add the advice's rule to the ``silenced_advice`` setting and save the settings
    (Settings › Hidden advice shows and edits the list); False when already there or the
    settings cannot be written (then nothing changes)."""
    if not advice.rule or advice.rule in settings.silenced_advice:
        return False
    before = list(settings.silenced_advice)
    settings.silenced_advice = [*before, advice.rule]
    try:
        settings.save()
    except OSError:
        settings.silenced_advice = before
        return False
    return True


def connect_advice(
    panel: ProblemsPanel,
    document: Document,
    settings: Callable[[], Settings] | None = None,
    revalidate: Callable[[], None] | None = None,
) -> None:
    """Wire the Problems panel's advice actions: Apply and Hide to the document, "anywhere"
    to the settings (then ``revalidate``: the document is unchanged, the advice is not)."""
    panel.applyAdvice.connect(lambda advice: apply_advice(document, advice))
    panel.silenceAdvice.connect(lambda advice: silence_advice(document, advice))
    if settings is None:
        return

    def everywhere(advice: Advice) -> None:
        if silence_everywhere(settings(), advice) and revalidate is not None:
            revalidate()

    panel.silenceAdviceEverywhere.connect(everywhere)

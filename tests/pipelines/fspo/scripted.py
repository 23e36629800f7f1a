"""A scripted FSPO LLM for the local test server: persona text, view-conditioned responses whose
length follows concise/verbose, and a scorer that prefers the response written for the user's own
description, except on planted (user, question) cases where it answers "A" whatever the order: a
position bias the swap check must quarantine."""

from __future__ import annotations

import hashlib
import json
import re

from tests.pipelines.llm.server import Reply, first_user, valid

_FIELD = re.compile(r"^(The user|Question|Reader): (.*)$", re.M)


def planted(user_description: str, question: str) -> bool:
    """The (user, question) cases where the scripted scorer has a position bias."""
    return int(hashlib.sha256(f"{user_description}|{question}".encode()).hexdigest(), 16) % 37 == 0


def _words(view: str) -> int:
    parts = set(view.split("+"))
    return 6 if "concise" in parts else 80 if "verbose" in parts else 25


def responder(body: dict, n: int) -> Reply:
    text = first_user(body)
    if text.startswith("[fspo:persona]"):
        outline = text.split("\n\n")[1].strip()
        return valid({"description": f"You are a person. {outline}"})
    if text.startswith("[fspo:respond"):
        view = re.match(r"\[fspo:respond view=(.*)\]", text).group(1)
        fields = dict(_FIELD.findall(text))
        body_words = " ".join(["word"] * _words(view))
        return valid({"response": f"For: {fields['Reader']} || {fields['Question'][:40]} {body_words}"})
    if text.startswith("[fspo:score]"):
        fields = dict(_FIELD.findall(text))
        user, question = fields["The user"], fields["Question"]
        if planted(user, question):
            return valid({"preferred": "A"})
        a = text.split("Response A:\n", 1)[1].split("\n\nResponse B:", 1)[0]
        return valid({"preferred": "A" if a.startswith(f"For: {user} ||") else "B"})
    return Reply(json.dumps({"error": "unscripted"}), status=400)

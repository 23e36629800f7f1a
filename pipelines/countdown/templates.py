"""Natural-language templates for priming traces.

Each behavior sentence type has several phrasings, every one carrying exactly one cue of its own
behavior (see :mod:`pipelines.behaviors.detector`) and none of another's; neutral sentences carry
no cue at all. A row's behavior counts are therefore exactly the number of sentences of each type
the generator wrote — which the tests check against the detector.
"""

from __future__ import annotations

INTRO = (
    "I need to reach {target} using {numbers}, each number exactly once.",
    "The numbers are {numbers} and the target is {target}.",
    "I have {numbers} and must make {target}.",
    "Combine {numbers} with + - * / to get {target}.",
    "Target {target}, numbers {numbers}.",
    "Let me find an expression over {numbers} equal to {target}.",
)
STEP = (
    "Try {a} {op} {b} = {c}.",
    "{a} {op} {b} = {c}, leaving {rest}.",
    "Combine {a} and {b}: {a} {op} {b} = {c}.",
    "Next, {a} {op} {b} = {c}.",
    "Then {a} {op} {b} gives {c}.",
    "Take {a} {op} {b}, which is {c}; now I have {rest}.",
)
FAILED_CHECK = (  # verification of a failed attempt
    "Let me check: {expr} = {value}, which is not {target}.",
    "Let me verify that result: {expr} comes to {value}, not {target}.",
    "Double-checking: {expr} is {value}, short of {target}." ,
    "Let me double-check the arithmetic: {expr} = {value}, and {value} differs from {target}.",
)
BACKTRACK = (
    "{value} is not {target}, so this path fails; let me go back and try another combination.",
    "That gives {value} instead of {target}, a dead end, so I will backtrack.",
    "{value} doesn't work, so I go back to the start.",
    "Ending at {value} rather than {target} means this approach fails, so let me try a different pairing.",
    "No luck: {value} is off from {target}, so I backtrack to the original numbers.",
)
SUCCESS_CHECK = (
    "Let me verify: {expr} = {target}, and it uses each of {numbers} exactly once.",
    "Let me double-check: {expr} evaluates to {target}, using every number once.",
    "Double-checking the whole expression: {expr} = {target}.",
    "Let me confirm the result: {expr} gives {target} with each number used once.",
)
WRONG_CHECK = (
    "Let me verify: {expr} = {value}.",
    "Let me double-check: {expr} evaluates to {value}.",
    "Double-checking the whole expression: {expr} = {value}.",
)
REACHED = (
    "That is {target}.",
    "This reaches {target}.",
    "And {value} is the target.",
    "There it is: {target}.",
)
SUBGOAL_LAST = (  # true of the attempt that follows: the last operation
    "A useful intermediate goal is to get {a} and {b}, since {a} {op} {b} = {target}.",
    "Let me set a subgoal: make {a} and {b}, because {a} {op} {b} = {target}.",
    "I will aim for {a} and {b} first, as {a} {op} {b} = {target}.",
    "Break the problem into parts: if I can have {a} and {b}, then {a} {op} {b} = {target}.",
)
SUBGOAL_PLAN = (  # a plan that the following attempt may not fulfil
    "Let me set a subgoal: make {need} from the other numbers, then {verb} {n}.",
    "A useful intermediate goal is {need}, to be combined with {n} ({verb} {n}).",
    "I will aim for {need} from the remaining numbers and then {verb} {n}.",
)
BACKWARD_LAST = (
    "Working backwards from {target}: {target} = {a} {op} {b}, so I need {a} and {b}.",
    "Starting from the target, {target} can be written as {a} {op} {b}.",
    "Reasoning backwards, {target} = {a} {op} {b}, so both {a} and {b} must come from the numbers.",
    "Work backward: {target} = {a} {op} {b}.",
)
BACKWARD_PLAN = (
    "Working backwards from {target}: {target} = {decomposition}, so I would need {need} from the rest.",
    "Starting from the target, {target} is {decomposition}, which asks for {need} from the other numbers.",
    "Reasoning backwards, {target} = {decomposition}; the remaining numbers would have to give {need}.",
)
FINAL = (
    "So the answer is {expr}.",
    "The expression is {expr}.",
    "Final expression: {expr}.",
    "Answer: {expr}.",
)

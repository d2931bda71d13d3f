"""ListOps as the Long Range Arena defines it: generate, evaluate, read and write its TSV files.

An expression is a tree in prefix notation: an operator token opens a node, ``]`` closes it, digits
are leaves. ``[MAX`` / ``[MIN`` take the maximum / minimum of their arguments, ``[MED`` the median
truncated to an integer, ``[SM`` the sum modulo 10; the label (10 classes) is the root's value.
A node above the maximum depth is a digit with probability 0.75, otherwise an operator with 2 to
``max_args`` arguments; a node at the maximum depth is a digit. The length of an expression counts
its operator, ``]`` and digit tokens; LRA keeps trees with ``min_length < length < max_length``.

LRA's TSV files (header ``Source<TAB>Target``) write each binary node of its tree in parentheses,
e.g. ``( ( ( [MAX 2 ) 9 ) ] )`` for ``[MAX 2 9 ]``; the parentheses carry no information and are
dropped when the expression is read.
"""
import csv
import random
from collections import Counter, defaultdict
from typing import Iterator, List, Optional, Sequence, Tuple

OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
CLOSE = "]"
DIGITS = tuple(str(d) for d in range(10))
VOCABULARY = OPERATORS + (CLOSE,) + DIGITS
LEAF_PROBABILITY = 0.75
HEADER = ("Source", "Target")
MAX_MISSES = 1_000_000  # draws in a row without a new expression before generation gives up


class ListOpsError(ValueError):
    """A malformed expression or TSV row; ``where`` is 'file:line' when known."""


def apply_operator(operator: str, values: Sequence[int]) -> int:
    """The value of ``operator`` applied to its argument values."""
    if operator == "[MIN":
        return min(values)
    if operator == "[MAX":
        return max(values)
    if operator == "[MED":
        ordered = sorted(values)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) // 2
    if operator == "[SM":
        return sum(values) % 10
    raise ListOpsError(f"unknown operator {operator!r}")


class _TooLong(Exception):
    pass


def generate_expression(rng: random.Random, max_depth: int, max_args: int, max_length: int) -> Optional[Tuple[List[str], int]]:
    """One random tree as (tokens, value), or None once it reaches ``max_length`` tokens."""
    tokens: List[str] = []

    def node(depth: int) -> int:
        if depth >= max_depth or rng.random() < LEAF_PROBABILITY:
            digit = rng.randrange(10)
            tokens.append(DIGITS[digit])
            if len(tokens) >= max_length:
                raise _TooLong
            return digit
        operator = OPERATORS[rng.randrange(len(OPERATORS))]
        tokens.append(operator)
        values = [node(depth + 1) for _ in range(rng.randint(2, max_args))]
        tokens.append(CLOSE)
        if len(tokens) >= max_length:
            raise _TooLong
        return apply_operator(operator, values)

    try:
        value = node(1)
    except _TooLong:
        return None
    return tokens, value


def generate_examples(
    count: int, seed: int, min_length: int = 500, max_length: int = 2000, max_depth: int = 10, max_args: int = 10,
    exclude: Optional[set] = None,
) -> Iterator[Tuple[str, int]]:
    """``count`` distinct expressions with ``min_length < length < max_length``, as (text, value).

    Deterministic in ``seed``; expressions already in ``exclude`` (a set of texts, updated) are skipped.
    """
    rng = random.Random(seed)
    seen = set() if exclude is None else exclude
    made = misses = 0
    while made < count:
        tree = generate_expression(rng, max_depth, max_args, max_length)
        text = None if tree is None or len(tree[0]) <= min_length else " ".join(tree[0])
        if text is None or text in seen:
            misses += 1
            if misses == MAX_MISSES:
                raise ListOpsError(
                    f"{MAX_MISSES:,} draws in a row gave no new expression of {min_length} < length < {max_length} "
                    f"(depth <= {max_depth}, <= {max_args} arguments) after {made}: widen the lengths or ask for fewer"
                )
            continue
        seen.add(text)
        made, misses = made + 1, 0
        yield text, tree[1]


def evaluate(tokens: Sequence[str]) -> int:
    """The value of an expression given as tokens (parentheses allowed and ignored)."""
    stack: List[Tuple[str, List[int]]] = []
    result = None
    for position, token in enumerate(tokens, 1):
        if token in ("(", ")"):
            continue
        if result is not None:
            raise ListOpsError(f"token {position} ({token!r}) comes after the expression is complete")
        if token in OPERATORS:
            stack.append((token, []))
        elif token == CLOSE:
            if not stack:
                raise ListOpsError(f"token {position}: ']' closes no operator")
            operator, values = stack.pop()
            if not values:
                raise ListOpsError(f"token {position}: {operator} has no arguments")
            value = apply_operator(operator, values)
            if stack:
                stack[-1][1].append(value)
            else:
                result = value
        elif token in DIGITS:
            if stack:
                stack[-1][1].append(int(token))
            else:
                result = int(token)
        else:
            raise ListOpsError(f"token {position}: {token!r} is not a ListOps token ({' '.join(VOCABULARY)})")
    if stack:
        raise ListOpsError(f"{len(stack)} operator(s) are never closed")
    if result is None:
        raise ListOpsError("empty expression")
    return result


def with_parentheses(tokens: Sequence[str]) -> str:
    """LRA's TSV form of an expression: ``( ( ( op a1 ) a2 ) ] )`` for ``op a1 a2 ]``, i.e. each
    operator node as a left-nested chain of pairs (op, a1), (., a2), ..., (., ]) in parentheses."""
    position = 0

    def node() -> List[str]:
        nonlocal position
        token = tokens[position]
        position += 1
        if token not in OPERATORS:
            return [token]
        body, arguments = [token], 0
        while tokens[position] != CLOSE:
            body.extend(node())
            body.append(")")
            arguments += 1
        position += 1
        return ["("] * (arguments + 1) + body + [CLOSE, ")"]

    return " ".join(node())


def write_tsv(path, examples) -> int:
    """Write (text, value) examples as an LRA TSV file; returns the number of rows."""
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        for text, value in examples:
            writer.writerow((with_parentheses(text.split()), value))
            rows += 1
    return rows


def read_tsv(path) -> List[Tuple[str, int]]:
    """An LRA ListOps TSV as (expression without parentheses, label); every row checked.

    A malformed row (wrong header, missing field, unknown token, unbalanced expression, or a label
    that is not the expression's value) raises ListOpsError naming 'file:line'.
    """
    examples = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if reader.line_num == 1:
                if tuple(row) != HEADER:
                    raise ListOpsError(f"{where}: expected the header 'Source<TAB>Target', got {row!r}")
                continue
            if len(row) != 2:
                raise ListOpsError(f"{where}: expected 2 tab-separated fields (Source, Target), got {len(row)}")
            tokens = [t for t in row[0].split() if t not in ("(", ")")]
            try:
                label = int(row[1])
            except ValueError:
                raise ListOpsError(f"{where}: the target {row[1]!r} is not an integer") from None
            try:
                value = evaluate(tokens)
            except ListOpsError as error:
                raise ListOpsError(f"{where}: {error}") from None
            if value != label:
                raise ListOpsError(f"{where}: the target is {label} but the expression evaluates to {value}")
            examples.append((" ".join(tokens), label))
    if not examples:
        raise ListOpsError(f"{path}: no examples")
    return examples


def outer_operator_prior(train: Sequence[Tuple[str, int]], evaluated: Sequence[Tuple[str, int]]) -> float:
    """Accuracy on ``evaluated`` of answering, for each expression, the label most frequent in ``train``
    among expressions with the same outermost operator (the first token): what a classifier gets from
    that one token, without computing anything ([MAX is mostly 9, [MIN mostly 0)."""
    labels = defaultdict(Counter)
    for expression, label in train:
        labels[expression.split(" ", 1)[0]][label] += 1
    guess = {operator: counts.most_common(1)[0][0] for operator, counts in labels.items()}
    return sum(guess.get(expression.split(" ", 1)[0]) == label for expression, label in evaluated) / len(evaluated)

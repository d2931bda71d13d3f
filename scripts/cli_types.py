"""argparse types shared by the scripts: numbers refused (with the option's name) before any work starts."""
import argparse
from typing import List


def number_at_least(kind, minimum, strict: bool, what: str):
    """argparse type: ``kind(text)``, refused unless it is above ``minimum`` (or equal, when not ``strict``)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value > minimum or (value == minimum and not strict)):  # NaN is refused too
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = number_at_least(int, 0, strict=True, what="a positive integer")
non_negative_int = number_at_least(int, 0, strict=False, what="an integer >= 0")
positive_float = number_at_least(float, 0.0, strict=True, what="a positive number")


def positive_ints(text: str) -> List[int]:
    """'512,1024' -> [512, 1024] (sorted, duplicates dropped); every entry a positive integer."""
    try:
        values = sorted({positive_int(part.strip()) for part in text.split(",") if part.strip()})
    except argparse.ArgumentTypeError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values

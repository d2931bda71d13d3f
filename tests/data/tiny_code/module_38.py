"""Module 38: a counter and a helper that uses it."""
import os


class Counter38:
    def __init__(self, start=38):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_38(path):
    counter = Counter38()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value

"""Module 34: a counter and a helper that uses it."""
import os


class Counter34:
    def __init__(self, start=34):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_34(path):
    counter = Counter34()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value

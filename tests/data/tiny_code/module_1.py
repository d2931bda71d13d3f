"""Module 1: a counter and a helper that uses it."""
import os


class Counter1:
    def __init__(self, start=1):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_1(path):
    counter = Counter1()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value

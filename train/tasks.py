"""Small Python function-writing tasks in HumanEval's format, for training and evaluating remask-mini.

Every task is one instance of a family (add a constant, filter a list, count a character, ...): a
signature and a docstring with one worked example as the prompt, the family's first body as the
canonical solution, and a check() whose asserts were computed by running it. Instances vary in the
constants, the function and argument names and the wording. Each family also has equivalent bodies (a
builtin, a comprehension, a loop); with --variants the canonical solution is drawn among them.

MiniEval v1 (datasets/minieval.jsonl, which the first shipped models were trained around) excludes from
training only its exact instances, keyed in most families on (constants, function name, argument
name): 102 of its 164 canonical solutions appear verbatim in the training splits under other names.

MiniEval v2 (datasets/minieval-v2.jsonl) is held out for real. An instance's solution is its bodies'
text with the arguments renamed ARG0, ARG1, ... (so "return x + 7" and "return n + 7" are one); a
family's constants decide that text. v2 reserves about a fifth of each family's constants (families
with fewer than 8, and those without constants, stay out of v2: holding one out would take a whole
behaviour from training) and draws its tasks from them; a training split drawn with --exclude v2
skips every instance that shares any solution text, under any of its bodies, with any v2 task. Each v2
task's tests are mutation-adequate: every one-token mutant of its canonical solution (an integer or a
letter +-1, a comparison or arithmetic operator swapped for a neighbour) that differs from it on any of
1000 random inputs fails them (tests are added until it does). The shipped models are trained on the
splits below, drawn with --exclude v2 (scripts/train-mini).

    python3 train/tasks.py minieval --count 164 --seed 2026 > datasets/minieval.jsonl
    python3 train/tasks.py train --count 200000 --seed 1 --exclude datasets/minieval.jsonl > train.jsonl
    python3 train/tasks.py train --count 60000 --seed 2 --variants --exclude datasets/minieval.jsonl > variants.jsonl
    python3 train/tasks.py v1-strict > minieval-v1-strict.jsonl     # v1's tasks whose solution never trains
    python3 train/tasks.py minieval-v2 --count 164 --seed 2027 > datasets/minieval-v2.jsonl
    python3 train/tasks.py train --count 200000 --seed 1 --exclude datasets/minieval-v2.jsonl > train-v2.jsonl
    python3 train/tasks.py train --count 60000 --seed 2 --variants --exclude datasets/minieval-v2.jsonl > variants-v2.jsonl
"""
import argparse
import ast
import json
import random
import re
import string
import sys

WORDS = ["a", "to", "sky", "tree", "apple", "orange", "giraffe", "elephant", "pineapple", "watermelon", "cloud", "sun",
         "river", "mountains", "ox", "bread", "music", "computer", "chair", "robot", "lamp", "it", "water", "zebra"]


def rand_list(rng, lo=-9, hi=20, n=None):
    return [rng.randint(lo, hi) for _ in range(n if n is not None else rng.randint(0, 7))]


def rand_word(rng, alphabet="abcdefghij", lo=0, hi=8):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def rand_sentence(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))


def pick(rng, options):
    return rng.choice(options)


# A family: sample(rng) -> dict with key (the instance identity), name, args, doc, bodies (equivalent
# solutions), inputs (callable returning a list of argument tuples). The docstring's constants are
# already filled in.
FAMILIES = {}


def family(fn):
    FAMILIES[fn.__name__] = fn
    return fn


NUM = ["x", "n", "value", "num", "a"]
LST = ["nums", "values", "lst", "items", "numbers", "xs"]
STR = ["s", "text", "word", "string", "line"]
NUMS_NAMES = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def ints(rng, lo=-50, hi=50):
    return lambda r: [(r.randint(lo, hi),) for _ in range(5)]


@family
def add_const(rng):
    k = rng.randint(1, 30)
    x = pick(rng, NUM)
    return dict(key=k, name=pick(rng, [f"add_{k}", f"plus_{k}", "add_constant", "shift_up"]), args=[x],
                doc=pick(rng, [f"Return {x} plus {k}.", f"Add {k} to {x}.", f"Return {x} increased by {k}."]),
                bodies=[f"return {x} + {k}", f"return {k} + {x}", f"result = {x} + {k}\n    return result"],
                inputs=ints(rng))


@family
def sub_const(rng):
    k = rng.randint(1, 30)
    x = pick(rng, NUM)
    return dict(key=k, name=pick(rng, [f"minus_{k}", f"subtract_{k}", "shift_down"]), args=[x],
                doc=pick(rng, [f"Return {x} minus {k}.", f"Subtract {k} from {x}."]),
                bodies=[f"return {x} - {k}", f"result = {x} - {k}\n    return result", f"{x} -= {k}\n    return {x}"],
                inputs=ints(rng))


@family
def mul_const(rng):
    k = rng.randint(2, 20)
    x = pick(rng, NUM)
    return dict(key=k, name=pick(rng, [f"times_{k}", f"multiply_by_{k}", "scale"]), args=[x],
                doc=pick(rng, [f"Return {x} multiplied by {k}.", f"Multiply {x} by {k}.", f"Return {k} times {x}."]),
                bodies=[f"return {x} * {k}", f"return {k} * {x}", f"result = {x} * {k}\n    return result"],
                inputs=ints(rng))


@family
def affine(rng):
    a, b = rng.randint(2, 9), rng.randint(1, 20)
    x = pick(rng, NUM)
    return dict(key=(a, b), name=pick(rng, ["affine", "linear", f"f_{a}_{b}"]), args=[x],
                doc=f"Return {x} times {a} plus {b}.",
                bodies=[f"return {x} * {a} + {b}", f"return {a} * {x} + {b}", f"return {b} + {a} * {x}",
                        f"result = {x} * {a}\n    return result + {b}"],
                inputs=ints(rng))


@family
def divisible(rng):
    k = rng.randint(2, 15)
    x = pick(rng, NUM)
    name = pick(rng, [f"divisible_by_{k}", f"is_multiple_of_{k}", "is_divisible"])
    return dict(key=(k, name, x), name=name, args=[x],
                doc=pick(rng, [f"Return True if {x} is divisible by {k}, else False.",
                               f"Check whether {x} is a multiple of {k}."]),
                bodies=[f"return {x} % {k} == 0", f"return not {x} % {k}",
                        f"if {x} % {k} == 0:\n        return True\n    return False",
                        f"if {x} % {k}:\n        return False\n    return True"],
                inputs=lambda r: [(r.randint(-60, 60),) for _ in range(4)] + [(0,)])


@family
def remainder(rng):
    k = rng.randint(2, 15)
    x = pick(rng, NUM)
    name = pick(rng, [f"mod_{k}", "remainder", f"remainder_{k}"])
    return dict(key=(k, name, x), name=name, args=[x],
                doc=f"Return the remainder of {x} divided by {k}.",
                bodies=[f"return {x} % {k}", f"result = {x} % {k}\n    return result", f"return {x} - {x} // {k} * {k}"],
                inputs=lambda r: [(r.randint(0, 100),) for _ in range(5)])


@family
def power(rng):
    k = rng.randint(2, 5)
    x = pick(rng, NUM)
    name = pick(rng, [f"power_{k}", "raise_power", f"to_the_{k}"])
    return dict(key=(k, name, x), name=name, args=[x],
                doc=f"Return {x} raised to the power {k}.",
                bodies=[f"return {x} ** {k}", f"return pow({x}, {k})", "return " + " * ".join([x] * k),
                        f"result = 1\n    for _ in range({k}):\n        result *= {x}\n    return result"],
                inputs=ints(rng, -9, 9))


@family
def clamp(rng):
    lo = rng.randint(-20, 10)
    hi = lo + rng.randint(1, 30)
    x = pick(rng, NUM)
    return dict(key=(lo, hi), name=pick(rng, ["clamp", "limit", "clip"]), args=[x],
                doc=f"Return {x} limited to the range {lo} to {hi}.",
                bodies=[f"return max({lo}, min({hi}, {x}))", f"return min({hi}, max({lo}, {x}))",
                        f"if {x} < {lo}:\n        return {lo}\n    if {x} > {hi}:\n        return {hi}\n    return {x}",
                        f"if {x} > {hi}:\n        return {hi}\n    if {x} < {lo}:\n        return {lo}\n    return {x}"],
                inputs=ints(rng, -40, 50))


@family
def sum_greater(rng):
    k = rng.randint(-5, 15)
    xs = pick(rng, LST)
    return dict(key=k, name=pick(rng, ["sum_greater", "sum_above", "total_above"]), args=[xs],
                doc=pick(rng, [f"Return the sum of the elements of {xs} greater than {k}.",
                               f"Sum the numbers in {xs} that are larger than {k}."]),
                bodies=[f"return sum(v for v in {xs} if v > {k})",
                        f"return sum([v for v in {xs} if v > {k}])",
                        f"result = 0\n    for v in {xs}:\n        if v > {k}:\n            result += v\n"
                        f"    return result"],
                inputs=lambda r: [(rand_list(r),) for _ in range(5)])


@family
def count_less(rng):
    k = rng.randint(-5, 15)
    xs = pick(rng, LST)
    return dict(key=k, name=pick(rng, ["count_less", "count_below", "how_many_below"]), args=[xs],
                doc=f"Return how many elements of {xs} are less than {k}.",
                bodies=[f"return sum(1 for v in {xs} if v < {k})",
                        f"return len([v for v in {xs} if v < {k}])",
                        f"result = 0\n    for v in {xs}:\n        if v < {k}:\n            result += 1\n"
                        f"    return result"],
                inputs=lambda r: [(rand_list(r),) for _ in range(5)])


@family
def count_value(rng):
    k = rng.randint(0, 9)
    xs = pick(rng, LST)
    name = pick(rng, [f"count_{k}s", "count_value", "occurrences"])
    return dict(key=(k, name, xs), name=name, args=[xs],
                doc=f"Return the number of times {k} appears in {xs}.",
                bodies=[f"return {xs}.count({k})", f"return sum(1 for v in {xs} if v == {k})",
                        f"result = 0\n    for v in {xs}:\n        if v == {k}:\n            result += 1\n"
                        f"    return result"],
                inputs=lambda r: [(rand_list(r, 0, 9, r.randint(0, 9)),) for _ in range(5)])


@family
def filter_greater(rng):
    k = rng.randint(-5, 15)
    xs = pick(rng, LST)
    return dict(key=k, name=pick(rng, ["filter_greater", "keep_above", "greater_than"]), args=[xs],
                doc=f"Return the elements of {xs} that are greater than {k}, in order.",
                bodies=[f"return [v for v in {xs} if v > {k}]",
                        f"return list(filter(lambda v: v > {k}, {xs}))",
                        f"result = []\n    for v in {xs}:\n        if v > {k}:\n            result.append(v)\n"
                        f"    return result"],
                inputs=lambda r: [(rand_list(r),) for _ in range(5)])


@family
def filter_parity(rng):
    even = rng.random() < 0.5
    xs = pick(rng, LST)
    word = "even" if even else "odd"
    name = pick(rng, [f"{word}_numbers", f"keep_{word}", f"only_{word}"])
    test = f"v % 2 == {0 if even else 1}"
    return dict(key=(word, name, xs), name=name, args=[xs],
                doc=f"Return the {word} numbers of {xs}, in order.",
                bodies=[f"return [v for v in {xs} if {test}]",
                        f"result = []\n    for v in {xs}:\n        if {test}:\n            result.append(v)\n"
                        f"    return result"],
                inputs=lambda r: [(rand_list(r),) for _ in range(5)])


@family
def map_add(rng):
    k = rng.randint(1, 20)
    xs = pick(rng, LST)
    return dict(key=k, name=pick(rng, ["add_to_all", "shift_all", f"add_{k}_each"]), args=[xs],
                doc=f"Return a list with {k} added to every element of {xs}.",
                bodies=[f"return [v + {k} for v in {xs}]", f"return list(map(lambda v: v + {k}, {xs}))",
                        f"result = []\n    for v in {xs}:\n        result.append(v + {k})\n    return result"],
                inputs=lambda r: [(rand_list(r),) for _ in range(5)])


@family
def map_mul(rng):
    k = rng.randint(2, 12)
    xs = pick(rng, LST)
    name = pick(rng, ["scale_all", "multiply_all", f"times_{k}_each"])
    return dict(key=(k, name, xs), name=name, args=[xs],
                doc=f"Return a list with every element of {xs} multiplied by {k}.",
                bodies=[f"return [v * {k} for v in {xs}]", f"return [{k} * v for v in {xs}]",
                        f"result = []\n    for v in {xs}:\n        result.append(v * {k})\n    return result"],
                inputs=lambda r: [(rand_list(r),) for _ in range(5)])


@family
def list_stat(rng):
    stat, doc, cmp, end = pick(rng, [("max", "largest", ">", -1), ("min", "smallest", "<", 0)])
    xs = pick(rng, LST)
    name = pick(rng, [f"{stat}_value", f"get_{stat}", f"find_{stat}"])
    return dict(key=(stat, name, xs), name=name, args=[xs],
                doc=f"Return the {doc} element of the non-empty list {xs}.",
                bodies=[f"return {stat}({xs})", f"return sorted({xs})[{end}]",
                        f"result = {xs}[0]\n    for v in {xs}:\n        if v {cmp} result:\n            result = v\n"
                        f"    return result"],
                inputs=lambda r: [(rand_list(r, n=r.randint(1, 7)),) for _ in range(5)])


@family
def first_n(rng):
    k = rng.randint(1, 6)
    xs = pick(rng, LST)
    name = pick(rng, ["first_items", "head", f"first_{k}"])
    return dict(key=(k, name, xs), name=name, args=[xs],
                doc=f"Return the first {k} elements of {xs}.",
                bodies=[f"return {xs}[:{k}]", f"return {xs}[0:{k}]", f"return list({xs}[:{k}])"],
                inputs=lambda r: [(rand_list(r, n=r.randint(0, 9)),) for _ in range(5)])


@family
def last_n(rng):
    k = rng.randint(1, 6)
    xs = pick(rng, LST)
    name = pick(rng, ["last_items", "tail", f"last_{k}"])
    return dict(key=(k, name, xs), name=name, args=[xs],
                doc=f"Return the last {k} elements of {xs}.",
                bodies=[f"return {xs}[-{k}:]", f"return {xs}[len({xs}) - {k}:]"],
                inputs=lambda r: [(rand_list(r, n=r.randint(k, 9)),) for _ in range(5)])


@family
def count_char(rng):
    c = rng.choice("abcdefghij")
    s = pick(rng, STR)
    name = pick(rng, [f"count_{c}", "count_char", "char_count"])
    return dict(key=(c, name, s), name=name, args=[s],
                doc=pick(rng, [f"Return how many times the letter '{c}' occurs in {s}.",
                               f"Count the '{c}' characters in {s}."]),
                bodies=[f"return {s}.count('{c}')", f"return sum(1 for v in {s} if v == '{c}')",
                        f"result = 0\n    for v in {s}:\n        if v == '{c}':\n            result += 1\n"
                        f"    return result"],
                inputs=lambda r: [(rand_word(r),) for _ in range(5)])


@family
def replace_char(rng):
    a, b = rng.sample("abcdefghij", 2)
    s = pick(rng, STR)
    return dict(key=(a, b), name=pick(rng, ["replace_char", f"{a}_to_{b}", "swap_letter"]), args=[s],
                doc=f"Return {s} with every '{a}' replaced by '{b}'.",
                bodies=[f"return {s}.replace('{a}', '{b}')",
                        f"return ''.join('{b}' if v == '{a}' else v for v in {s})"],
                inputs=lambda r: [(rand_word(r),) for _ in range(5)])


@family
def remove_char(rng):
    c = rng.choice("abcdefghij")
    s = pick(rng, STR)
    name = pick(rng, [f"remove_{c}", "strip_char", "delete_letter"])
    return dict(key=(c, name, s), name=name, args=[s],
                doc=f"Return {s} without any '{c}' characters.",
                bodies=[f"return {s}.replace('{c}', '')", f"return ''.join(v for v in {s} if v != '{c}')",
                        f"result = ''\n    for v in {s}:\n        if v != '{c}':\n            result += v\n"
                        f"    return result"],
                inputs=lambda r: [(rand_word(r),) for _ in range(5)])


@family
def starts_with(rng):
    p = rand_word(rng, lo=1, hi=2)
    s = pick(rng, STR)
    return dict(key=p, name=pick(rng, ["starts_with", "has_prefix", f"begins_with_{p}"]), args=[s],
                doc=f"Return True if {s} starts with '{p}', else False.",
                bodies=[f"return {s}.startswith('{p}')", f"return {s}[:{len(p)}] == '{p}'"],
                inputs=lambda r: [(p + rand_word(r, hi=3),), (rand_word(r),), (rand_word(r),), ("",), (p,)])


@family
def ends_with(rng):
    p = rand_word(rng, lo=1, hi=2)
    s = pick(rng, STR)
    return dict(key=p, name=pick(rng, ["ends_with", "has_suffix", f"ends_in_{p}"]), args=[s],
                doc=f"Return True if {s} ends with '{p}', else False.",
                bodies=[f"return {s}.endswith('{p}')", f"return {s}[-{len(p)}:] == '{p}'"],
                inputs=lambda r: [(rand_word(r, hi=3) + p,), (rand_word(r),), (rand_word(r),), ("",), (p,)])


@family
def repeat_string(rng):
    k = rng.randint(2, 6)
    s = pick(rng, STR)
    name = pick(rng, ["repeat", f"repeat_{k}", "copies"])
    return dict(key=(k, name, s), name=name, args=[s],
                doc=f"Return {s} repeated {k} times.",
                bodies=[f"return {s} * {k}", f"return {k} * {s}", f"return ''.join([{s}] * {k})"],
                inputs=lambda r: [(rand_word(r, hi=4),) for _ in range(5)])


@family
def string_case(rng):
    op, doc = pick(rng, [("upper", "in upper case"), ("lower", "in lower case"), ("[::-1]", "reversed")])
    s = pick(rng, STR)
    name = {"upper": "shout", "lower": "quiet", "[::-1]": "reverse"}[op]
    name = pick(rng, [name, name + "_" + s, "convert"])
    if op.startswith("["):
        bodies = [f"return {s}[::-1]", f"return ''.join(reversed({s}))"]
    else:
        bodies = [f"return {s}.{op}()", f"return ''.join(v.{op}() for v in {s})"]
    return dict(key=(op, name, s), name=name, args=[s], doc=f"Return {s} {doc}.", bodies=bodies,
                inputs=lambda r: [(rand_word(r, string.ascii_letters),) for _ in range(5)])


@family
def join_words(rng):
    sep = pick(rng, ["-", "_", ", ", "+", "/", ":", " ", ""])
    ws = pick(rng, ["words", "parts", "names"])
    name = pick(rng, ["join_words", "glue", "combine"])
    return dict(key=(sep, name, ws), name=name, args=[ws],
                doc=f"Return the strings in {ws} joined with '{sep}' between them.",
                bodies=[f"return '{sep}'.join({ws})", f"result = '{sep}'.join({ws})\n    return result"],
                inputs=lambda r: [([rand_word(r, lo=1, hi=4) for _ in range(r.randint(0, 4))],) for _ in range(5)])


@family
def word_count(rng):
    s = pick(rng, STR)
    name = pick(rng, ["word_count", "count_words", "number_of_words"])
    return dict(key=(name, s), name=name, args=[s], doc=f"Return the number of words in {s}, split on whitespace.",
                bodies=[f"return len({s}.split())",
                        f"result = 0\n    for v in {s}.split():\n        result += 1\n    return result"],
                inputs=lambda r: [(rand_sentence(r),) for _ in range(5)])


@family
def longest_word(rng):
    s = pick(rng, STR)
    name = pick(rng, ["longest_word_length", "max_word_len", "longest"])
    return dict(key=(name, s), name=name, args=[s], doc=f"Return the length of the longest word in the sentence {s}.",
                bodies=[f"return max(len(w) for w in {s}.split())", f"return max(map(len, {s}.split()))",
                        f"result = 0\n    for v in {s}.split():\n        if len(v) > result:\n"
                        f"            result = len(v)\n    return result"],
                inputs=lambda r: [(rand_sentence(r),) for _ in range(5)])


@family
def is_palindrome(rng):
    s = pick(rng, STR)
    name = pick(rng, ["is_palindrome", "palindrome", "reads_same_backwards"])
    return dict(key=(name, s), name=name, args=[s], doc=f"Return True if {s} reads the same forwards and backwards.",
                bodies=[f"return {s} == {s}[::-1]", f"return {s}[::-1] == {s}",
                        f"return list({s}) == list(reversed({s}))"],
                inputs=lambda r: [(w + w[::-1],) for w in (rand_word(r, "ab", 0, 3) for _ in range(2))]
                + [(rand_word(r, "ab", 1, 4),) for _ in range(3)])


@family
def two_args(rng):
    ops, doc, word = pick(rng, [(["a + b", "b + a"], "the sum of a and b", "sum"),
                                (["a * b", "b * a"], "the product of a and b", "product"),
                                (["abs(a - b)", "abs(b - a)", "max(a, b) - min(a, b)"],
                                 "the absolute difference of a and b", "distance"),
                                (["max(a, b)", "a if a > b else b", "b if b > a else a"], "the larger of a and b",
                                 "larger"),
                                (["min(a, b)", "a if a < b else b", "b if b < a else a"], "the smaller of a and b",
                                 "smaller"),
                                (["a - b", "-b + a"], "a minus b", "difference")])
    name = pick(rng, ["combine", "calc", "pair_" + word, word + "_of"])
    return dict(key=(ops[0], name), name=name, args=["a", "b"], doc=f"Return {doc}.",
                bodies=[f"return {op}" for op in ops],
                inputs=lambda r: [(r.randint(-30, 30), r.randint(-30, 30)) for _ in range(5)])


@family
def sum_multiples(rng):
    k = rng.randint(2, 9)
    n = pick(rng, ["n", "limit", "stop"])
    name = pick(rng, [f"sum_multiples_of_{k}", "sum_multiples"])
    return dict(key=(k, name, n), name=name, args=[n],
                doc=f"Return the sum of the multiples of {k} from 0 up to but not including {n}.",
                bodies=[f"return sum(range(0, {n}, {k}))", f"return sum(v for v in range({n}) if v % {k} == 0)",
                        f"result = 0\n    for v in range(0, {n}, {k}):\n        result += v\n    return result"],
                inputs=lambda r: [(r.randint(0, 60),) for _ in range(5)])


@family
def loop_product(rng):
    k = rng.randint(1, 5)
    xs = pick(rng, LST)
    name = pick(rng, ["product", "multiply_all_plus", f"product_plus_{k}"])
    return dict(key=(k, name, xs), name=name, args=[xs],
                doc=f"Return the product of (v + {k}) over the elements v of {xs}; 1 for an empty list.",
                bodies=[f"result = 1\n    for v in {xs}:\n        result *= v + {k}\n    return result",
                        f"result = 1\n    for v in {xs}:\n        result = result * (v + {k})\n    return result"],
                inputs=lambda r: [(rand_list(r, -3, 5, r.randint(0, 5)),) for _ in range(5)])


@family
def threshold_label(rng):
    k = rng.randint(-10, 20)
    yes, no = rng.sample(["big", "small", "high", "low", "yes", "no", "hot", "cold"], 2)
    x = pick(rng, NUM)
    return dict(key=(k, yes, no), name=pick(rng, ["label", "classify", "size_label"]), args=[x],
                doc=f"Return '{yes}' if {x} is at least {k}, otherwise '{no}'.",
                bodies=[f"return '{yes}' if {x} >= {k} else '{no}'", f"return '{no}' if {x} < {k} else '{yes}'",
                        f"if {x} >= {k}:\n        return '{yes}'\n    return '{no}'",
                        f"if {x} < {k}:\n        return '{no}'\n    return '{yes}'"],
                inputs=ints(rng, -30, 40))


@family
def index_of(rng):
    k = rng.randint(0, 9)
    xs = pick(rng, LST)
    name = pick(rng, ["find_index", f"index_of_{k}", "position"])
    return dict(key=(k, name, xs), name=name, args=[xs],
                doc=f"Return the index of the first {k} in {xs}, or -1 if there is none.",
                bodies=[f"return {xs}.index({k}) if {k} in {xs} else -1",
                        f"if {k} in {xs}:\n        return {xs}.index({k})\n    return -1",
                        f"for i, v in enumerate({xs}):\n        if v == {k}:\n            return i\n    return -1"],
                inputs=lambda r: [(rand_list(r, 0, 9, r.randint(0, 8)),) for _ in range(5)])


def trivial_answers(calls):
    """Wrong answers a test must fail: the first argument back, and any one constant result."""
    return [lambda a: a[0]] + [lambda a, r=r: r for _, r in calls]


def compiled(spec, body):
    source = f"def {spec['name']}({', '.join(spec['args'])}):\n" + body
    scope = {}
    exec(source, scope)
    return scope[spec["name"]]


def check_source(calls):
    """A check(candidate) asserting each (arguments, result) call."""
    return "def check(candidate):\n" + "".join(
        f"    assert candidate({', '.join(repr(a) for a in args)}) == {result!r}\n" for args, result in calls)


def render(fam, spec, rng, variants):
    """The HumanEval record of one instance, its asserts computed by running the canonical solution, and those
    (arguments, result) calls.

    The canonical solution is the family's first body, or with variants one of its equivalent bodies
    drawn at random: trained on all of them, the model's next-token law has several modes, as a real
    model's has, and committing many positions at once can mix two solutions into neither."""
    name, args = spec["name"], spec["args"]
    body = "    " + (pick(rng, spec["bodies"]) if variants else spec["bodies"][0]) + "\n"
    fn = compiled(spec, body)
    for _ in range(50):  # inputs on which the tests reject the trivial wrong answers
        calls = [(call_args, fn(*call_args)) for call_args in spec["inputs"](rng)]
        if not any(all(wrong(call_args) == result for call_args, result in calls) for wrong in trivial_answers(calls)):
            break
    else:
        raise RuntimeError(f"{fam}: no discriminating test inputs for {body!r}")
    for other in spec["bodies"]:
        variant = compiled(spec, "    " + other + "\n")
        if any(variant(*call_args) != result for call_args, result in calls):
            raise RuntimeError(f"{fam}: {other!r} disagrees with {body!r}")
    example_args, example_result = calls[0]
    call = f"{name}({', '.join(repr(a) for a in example_args)})"
    prompt = (f"def {name}({', '.join(args)}):\n    \"\"\"{spec['doc']}\n    >>> {call}\n    {example_result!r}\n"
              "    \"\"\"\n")
    test = check_source(calls)
    record = {"prompt": prompt, "entry_point": name, "canonical_solution": body, "test": test}
    assert (prompt + body + test).isascii()
    return record, calls


def instance_key(fam, spec):
    return json.dumps([fam, spec["key"]])


def generate(count, seed, excluded, prefix, variants, excluded_solutions=frozenset()):
    rng = random.Random(seed)
    names = sorted(FAMILIES)
    out, seen_prompts = [], set()
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 100 * count + 10000:
            sys.exit(f"tasks.py: only {len(out)} of {count} tasks could be drawn outside the excluded instances")
        fam = names[len(out) % len(names)] if prefix == "MiniEval" else rng.choice(names)
        spec = FAMILIES[fam](rng)
        key = instance_key(fam, spec)
        if key in excluded or (excluded_solutions and not excluded_solutions.isdisjoint(solutions(spec))):
            continue
        record, _ = render(fam, spec, rng, variants)
        if prefix == "MiniEval":
            if record["prompt"] in seen_prompts or key in {r["_key"] for r in out}:
                continue  # held-out tasks are all distinct instances
        seen_prompts.add(record["prompt"])
        record = {"task_id": f"{prefix}/{len(out)}", **record, "_key": key}
        out.append(record)
    return out


# --- MiniEval v2 -------------------------------------------------------------------------------------

ELIGIBLE_CONSTANTS = 8     # a family needs this many distinct solutions to lend some to v2
RESERVED_SHARE = 0.2       # the share of a family's solutions that v2 reserves
MUTATION_INPUTS = 200      # calls of the family's input generator (5 argument tuples each) that decide equivalence


def solution(spec, body):
    """The body with the arguments renamed ARG0, ARG1, ... outside string literals."""
    parts = re.split(r"('[^']*')", body)
    for i in range(0, len(parts), 2):
        for n, arg in enumerate(spec["args"]):
            parts[i] = re.sub(r"\b%s\b" % re.escape(arg), "ARG%d" % n, parts[i])
    return "".join(parts)


def solutions(spec):
    """Every body's solution text: the instance's identity for hold-out."""
    return frozenset(solution(spec, body) for body in spec["bodies"])


def reserved_solutions(seed):
    """The solution sets v2 draws from: a fifth of each eligible family's, chosen with the seed."""
    rng = random.Random(seed)
    reserved = {}
    for fam in sorted(FAMILIES):
        space = sorted({tuple(sorted(solutions(FAMILIES[fam](rng)))) for _ in range(3000)})
        if len(space) >= ELIGIBLE_CONSTANTS:
            reserved[fam] = set(rng.sample(space, max(1, int(len(space) * RESERVED_SHARE))))
    return reserved


def mutants(body):
    """One-token mutants of a body: integers and letters +-1, comparison and arithmetic operators swapped."""
    neighbours = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt, ast.GtE], ast.Gt: [ast.GtE, ast.Lt],
                  ast.GtE: [ast.Gt, ast.LtE], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq],
                  ast.Add: [ast.Sub, ast.Mult], ast.Sub: [ast.Add], ast.Mult: [ast.Add, ast.Pow],
                  ast.Mod: [ast.FloorDiv], ast.FloorDiv: [ast.Mod], ast.Pow: [ast.Mult]}
    source = "def f():\n" + body
    count = sum(1 for _ in ast.walk(ast.parse(source)))
    out = set()
    for index in range(count):
        for change in range(3):
            tree = ast.parse(source)
            node = list(ast.walk(tree))[index]
            if isinstance(node, ast.Constant) and type(node.value) is int and change < 2:
                node.value += 1 if change == 0 else -1
            elif (isinstance(node, ast.Constant) and type(node.value) is str and len(node.value) == 1
                  and node.value.isalpha() and change < 2):
                node.value = chr(ord(node.value) + (1 if change == 0 else -1))
            elif isinstance(node, (ast.BinOp, ast.Compare)):
                op = node.op if isinstance(node, ast.BinOp) else node.ops[0]
                options = neighbours.get(type(op), [])
                if change >= len(options):
                    continue
                if isinstance(node, ast.BinOp):
                    node.op = options[change]()
                else:
                    node.ops[0] = options[change]()
            else:
                continue
            mutant = ast.unparse(tree).split("\n", 1)[1] + "\n"
            if mutant != ast.unparse(ast.parse(source)).split("\n", 1)[1] + "\n":
                out.add(mutant)
    return sorted(out)


def outcome(fn, args):
    try:
        return ("value", fn(*args))
    except Exception as e:  # a mutant may raise where the solution does not
        return ("raises", type(e).__name__)


def adequate_calls(fam, spec, body, calls, rng):
    """The calls, plus inputs from the family's generator until every non-equivalent mutant of the body
    gives another result on one of them; also the mutation counts (killed, non-equivalent)."""
    fn = compiled(spec, body)
    pool = [args for _ in range(MUTATION_INPUTS) for args in spec["inputs"](rng)]
    calls = list(calls)
    killed = 0
    non_equivalent = 0
    for mutant_body in mutants(body):
        try:
            mutant = compiled(spec, mutant_body)
        except SyntaxError:
            continue
        differing = [args for args in pool if outcome(mutant, args) != outcome(fn, args)]
        if not differing:
            continue  # equivalent on every input the family draws
        non_equivalent += 1
        if any(outcome(mutant, args) != ("value", result) for args, result in calls):
            killed += 1
            continue
        calls.append((differing[0], fn(*differing[0])))
        killed += 1
    return calls, killed, non_equivalent


def generate_v2(count, seed):
    """MiniEval v2: round-robin over the families with reserved solutions, distinct prompts."""
    reserved = reserved_solutions(seed)
    rng = random.Random(seed)
    names = sorted(reserved)
    out, seen_prompts = [], set()
    while len(out) < count:
        fam = names[len(out) % len(names)]
        spec = FAMILIES[fam](rng)
        if tuple(sorted(solutions(spec))) not in reserved[fam]:
            continue
        record, calls = render(fam, spec, rng, False)
        if record["prompt"] in seen_prompts:
            continue
        seen_prompts.add(record["prompt"])
        calls, killed, non_equivalent = adequate_calls(fam, spec, record["canonical_solution"], calls, rng)
        record["test"] = check_source(calls)
        out.append({"task_id": f"MiniEval2/{len(out)}", **record, "family": fam,
                    "solutions": sorted(solutions(spec)), "mutants": [killed, non_equivalent]})
    return out


def renamed(record):
    """A record's canonical solution with its arguments (from the prompt's signature) renamed."""
    signature = re.match(r"def \w+\((.*?)\):", record["prompt"]).group(1)
    args = [a.strip() for a in signature.split(",") if a.strip()]
    return solution({"args": args}, record["canonical_solution"].rstrip("\n")[4:])


def v1_strict(minieval):
    """The v1 tasks whose canonical solution, renamed, is no canonical solution of scripts/train-mini's splits."""
    with open(minieval) as f:
        held_out = [json.loads(line) for line in f]
    excluded = {r["instance"] for r in held_out}
    trained = {renamed(r) for count, seed, variants in ((200000, 1, False), (60000, 2, True))
               for r in generate(count, seed, excluded, "Train", variants)}
    return [r for r in held_out if renamed(r) not in trained]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("split", choices=["minieval", "minieval-v2", "train", "v1-strict"])
    parser.add_argument("--count", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--exclude", help="a MiniEval JSONL whose instances training must not reuse")
    parser.add_argument("--variants", action="store_true",
                        help="draw each canonical solution among the family's equivalent bodies")
    a = parser.parse_args()
    if a.split == "v1-strict":
        for record in v1_strict("datasets/minieval.jsonl"):
            print(json.dumps(record))
        return
    if a.count is None or a.seed is None:
        parser.error(a.split + " needs --count and --seed")
    if a.split == "minieval-v2":
        for record in generate_v2(a.count, a.seed):
            print(json.dumps(record))
        return
    excluded, excluded_solutions = set(), set()
    if a.exclude:
        with open(a.exclude) as f:
            held_out = [json.loads(line) for line in f]
        # v1 records name their instance; v2 records their solutions, which training must not contain.
        excluded = {r["instance"] for r in held_out if "instance" in r}
        excluded_solutions = {text for r in held_out for text in r.get("solutions", [])}
    elif a.split == "train":
        parser.error("train needs --exclude MINIEVAL.jsonl, so no held-out instance is trained on")
    for record in generate(a.count, a.seed, excluded, "MiniEval" if a.split == "minieval" else "Train", a.variants,
                           excluded_solutions):
        record["instance"] = record.pop("_key")
        print(json.dumps(record))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The README is a contract: this test runs what it shows and compares what it documents with the code.

Usage: readme_test.py ROOT   (ROOT/target/remask.jar and ROOT/target/native/libremask.so built)

Every fenced block and every checked table of ROOT/README.md carries a marker, an HTML comment on the line
before it that the rendered page does not show:

  <!-- test: quick [rc=N] [vary=KEY,...] -->   a shell block, run command by command in a fresh copy of the
      project (its tracked files, with the built jar and native library). A line `$ CMD` is followed by
      CMD's output (stdout and stderr, as a terminal shows them), compared line by line: exactly, or for a
      JSON line, key by key with the values of the KEYs only checked for their type (timings). Blocks
      without `$` lines are commands whose output is not shown. Each must exit N (default 0).
  <!-- test: slow -->   a shell block of commands that take minutes: not run; each `scripts/remask CMD`
      must name only options of CMD's --help, each other `scripts/X` must exist and, where it has a --help,
      name only options it lists.
  <!-- test: java -->   a Java program: run in the copy with `java -cp target/remask.jar --enable-native-access
      =ALL-UNNAMED FILE.java` (JDK 25 source launcher); its output must equal the next block, marked
      <!-- test: java-output -->.
  <!-- test: options CMD ... -->   a table of options (first column the option, second its default): every
      option exists in each CMD's --help with the same default (the help's "(default: ...)", or "—" for
      none), and every option of a command's --help is in a table that names the command.
  <!-- test: commands -->   the commands table: each synopsis names options of its command, and those outside
      [brackets] are exactly the command's required ones.
  <!-- test: json-fields CMD -->   the fields of CMD's JSON output: equal to the keys of the JSON shown by the
      last quick example of CMD.
  <!-- test: sweep-table DIR -->   a sweep's table (schedule, parameter, NFE per task, pass@1, "passed of
      tasks"[, revision rule]): equal, row for row, to DIR/sweep.csv in the copy after the quick commands ran.
  <!-- test: cache-table DIR -->   pass@1 by block, schedule and cache (block, "schedule parameter", NFE, then
      one column per cache mode): each equal to DIR/B{block}-{cache}/sweep.csv.

Also checked: every program that scripts/test runs is named in the README.
Prints one line per failed check and ends with "N passed, N failed"; exits 1 when any failed.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^<!-- test: (.*?) -->\s*$")
COMMAND_TIMEOUT = 300


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, where, message):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAILED README.md:{where}: {message}", flush=True)
        return ok


# --- The README's parts ---------------------------------------------------------------------------------

class Part:
    """A fenced block or a table, with its marker (None when it has none) and its first line's number."""

    def __init__(self, kind, line, marker, lines):
        self.kind, self.line, self.marker, self.lines = kind, line, marker, lines

    def marker_words(self):
        return self.marker.split() if self.marker else []

    def marker_option(self, name, default=None):
        for word in self.marker_words()[1:]:
            if word.startswith(name + "="):
                return word[len(name) + 1:]
        return default


def parse_readme(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    parts = []
    marker = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            marker = m.group(1).strip()
            i += 1
            continue
        if line.startswith("```"):
            start = i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            parts.append(Part("block", start, marker, lines[start:i]))
            marker = None
            i += 1
            continue
        if line.startswith("|"):
            start = i + 1
            body = []
            while i < len(lines) and lines[i].startswith("|"):
                body.append(lines[i])
                i += 1
            parts.append(Part("table", start, marker, body))
            marker = None
            continue
        if line.strip():
            marker = None  # a marker applies to the block or table right after it
        i += 1
    return parts


def table_rows(part):
    """The cells of each row after the header and the |---| line."""
    rows = []
    for line in part.lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append([c.replace("\\|", "|") for c in cells])
    return rows


def commands_of_block(lines):
    """(command, expected output lines or None) for each command of a shell block; `\\` joins lines."""
    prompted = any(l.startswith("$ ") for l in lines)
    result = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if prompted and not line.startswith("$ "):
            i += 1
            continue
        command = line[2:] if prompted else line
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command += "\n" + lines[i]
        i += 1
        if not prompted:
            if command.strip() and not command.lstrip().startswith("#"):
                result.append((command, None))
            continue
        output = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        result.append((command, output))
    return result


# --- What the code says: picocli's --help ----------------------------------------------------------------

class Help:
    """One command's --help: its options (name -> default text or None) and the required ones."""

    def __init__(self, text):
        self.options = {}
        self.aliases = {}
        self.required = set()
        self.subcommands = []
        lines = text.split("\n")
        synopsis = []
        i = 0
        while i < len(lines) and not lines[i].startswith("Usage:"):
            i += 1
        synopsis.append(lines[i][len("Usage:"):])
        i += 1
        while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
            synopsis.append(lines[i])
            i += 1
        self.required = required_options(" ".join(synopsis).split()[1:])
        entry = None
        in_commands = False
        for line in lines[i:]:
            if line.startswith("Commands:"):
                in_commands = True
                continue
            if in_commands:
                m = re.match(r"^  (\w+)\s", line)
                if m:
                    self.subcommands.append(m.group(1))
                continue
            m = re.match(r"^\s{2,6}(-\w, )?(--[\w-]+|\[?[A-Z][A-Z_]*\]?)(=\S+)?(\s+(.*))?$", line)
            if m and not line.startswith(" " * 8):
                name = m.group(2).strip("[]")
                entry = [name, m.group(5) or ""]
                self.options[name] = entry
                if m.group(1):
                    self.aliases[m.group(1)[:-2]] = name
            elif entry is not None and line.startswith(" " * 8):
                entry[1] += " " + line.strip()
        for name, (_, description) in list(self.options.items()):
            self.options[name] = default_of(description)

    def knows(self, option):
        return option in self.options or option in self.aliases


def default_of(description):
    """The text of the last "(default: ...)" in a help description, or None."""
    start = description.rfind("(default: ")
    if start < 0:
        return None
    depth = 0
    for j in range(start, len(description)):
        if description[j] == "(":
            depth += 1
        elif description[j] == ")":
            depth -= 1
            if depth == 0:
                return description[start + len("(default: "):j]
    return None


def required_options(tokens):
    """The --options of a synopsis outside [brackets]."""
    required = set()
    depth = 0
    for token in tokens:
        opening = len(token) - len(token.lstrip("["))
        depth += opening
        name = token.lstrip("[").split("=")[0].rstrip("]").rstrip(".")
        if depth == 0 and name.startswith("--"):
            required.add(name)
        depth -= token.count("]") - token.count("[") + opening
        depth = max(depth, 0)
    return required


def normalized(text):
    return " ".join(text.replace("`", "").split()) if text else ""


# --- The checks ------------------------------------------------------------------------------------------

class ReadmeTest:
    def __init__(self, root):
        self.root = root
        self.checks = Checks()
        self.copy = tempfile.mkdtemp(prefix="remask-readme-")
        self.helps = {}
        self.json_examples = {}

    def run(self):
        try:
            self.make_copy()
            parts = parse_readme(os.path.join(self.root, "README.md"))
            self.check_markers(parts)
            self.check_commands_and_options(parts)
            for index, part in enumerate(parts):
                words = part.marker_words()
                if part.kind != "block" or not words:
                    continue
                if words[0] == "quick":
                    self.run_quick(part)
                elif words[0] == "slow":
                    self.check_slow(part)
                elif words[0] == "java":
                    following = parts[index + 1] if index + 1 < len(parts) else None
                    self.run_java(part, following)
            for part in parts:
                words = part.marker_words()
                if words[:1] == ["json-fields"]:
                    self.check_json_fields(part)
                elif words[:1] == ["sweep-table"]:
                    self.check_sweep_table(part, words[1])
                elif words[:1] == ["cache-table"]:
                    self.check_cache_table(part, words[1])
            self.check_test_programs()
        finally:
            shutil.rmtree(self.copy, ignore_errors=True)
        print(f"{self.checks.passed} passed, {self.checks.failed} failed")
        return 0 if self.checks.failed == 0 else 1

    def make_copy(self):
        """The files a fresh clone has, and the build outputs scripts/remask runs (so nothing is rebuilt)."""
        listed = subprocess.run(["git", "-C", self.root, "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], check=True, capture_output=True).stdout.decode()
        for name in filter(None, listed.split("\0")):
            source = os.path.join(self.root, name)
            if not os.path.isfile(source):
                continue  # deleted in the work tree
            target = os.path.join(self.copy, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
        os.makedirs(os.path.join(self.copy, "target", "native"))
        shutil.copy2(os.path.join(self.root, "target", "remask.jar"), os.path.join(self.copy, "target"))
        shutil.copytree(os.path.join(self.root, "target", "lib"), os.path.join(self.copy, "target", "lib"))
        shutil.copy2(os.path.join(self.root, "target", "native", "libremask.so"),
                     os.path.join(self.copy, "target", "native"))

    def shell(self, command, timeout=COMMAND_TIMEOUT):
        env = dict(os.environ)
        env.pop("REMASK_REBUILD", None)
        return subprocess.run(["bash", "-c", command], cwd=self.copy, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=timeout)

    def help(self, command):
        """The --help of `remask COMMAND` (None for remask itself)."""
        if command not in self.helps:
            # One line per option (no wrapping), so a default is read as written.
            done = self.shell("REMASK_JAVA_OPTS=-Dpicocli.usage.width=1000 scripts/remask "
                              + (command + " " if command else "") + "--help")
            self.helps[command] = Help(done.stdout.decode()) if done.returncode == 0 else None
        return self.helps[command]

    def check_markers(self, parts):
        for part in parts:
            words = part.marker_words()
            if part.kind == "block":
                kinds = {"quick", "slow", "java", "java-output"}
                self.checks.check(bool(words) and words[0] in kinds, part.line,
                                  f"a code block needs a marker <!-- test: {'|'.join(sorted(kinds))} -->")
            elif part.lines and "option" in part.lines[0].split("|")[1].lower():  # an options table
                self.checks.check(words[:1] == ["options"], part.line,
                                  "a table of options needs a marker <!-- test: options COMMAND... -->")

    def check_commands_and_options(self, parts):
        commands = [""] + self.help("").subcommands
        covered = {c: set() for c in commands}
        for part in parts:
            words = part.marker_words()
            if part.kind != "table" or not words:
                continue
            if words[0] == "options":
                targets = ["" if w == "remask" else w for w in words[1:]]
                for row in table_rows(part):
                    name = row[0].split("`")[1].split()[0] if "`" in row[0] else row[0]
                    documented = None if row[1] in ("—", "") else normalized(row[1])
                    for command in targets:
                        help = self.help(command)
                        if not self.checks.check(help is not None and help.knows(name), part.line,
                                                 f"{name}: remask {command or ''} has no such option"):
                            continue
                        name = help.aliases.get(name, name)
                        covered[command].add(name)
                        self.checks.check(normalized(help.options[name]) == (documented or ""), part.line,
                                          f"{name} of remask {command}: the README says the default is "
                                          f"{documented!r}, --help says {help.options[name]!r}")
            elif words[0] == "commands":
                for row in table_rows(part):
                    tokens = row[0].strip("`").split()
                    command = tokens[1]
                    help = self.help(command)
                    if not self.checks.check(help is not None, part.line, f"remask {command}: no such command"):
                        continue
                    unknown = [t for t in tokens if t.lstrip("[").startswith("--")
                               and not help.knows(t.lstrip("[").rstrip("]"))]
                    self.checks.check(not unknown, part.line, f"remask {command}: no options {unknown}")
                    required = required_options(tokens[2:])
                    self.checks.check(required == help.required, part.line,
                                      f"remask {command}: the README shows {sorted(required)} as required, "
                                      f"--help {sorted(help.required)}")
        for command in commands:
            missing = set(self.help(command).options) - covered[command]
            self.checks.check(not missing, 0, f"remask {command}: options of --help missing from the README's "
                                              f"option tables: {sorted(missing)}")

    def run_quick(self, part):
        expected_rc = int(part.marker_option("rc", "0"))
        vary = set(filter(None, part.marker_option("vary", "").split(",")))
        for command, expected in commands_of_block(part.lines):
            try:
                done = self.shell(command)
            except subprocess.TimeoutExpired:
                self.checks.check(False, part.line, f"`{command}` ran over {COMMAND_TIMEOUT} s")
                continue
            output = done.stdout.decode("utf-8", "replace")
            if not self.checks.check(done.returncode == expected_rc, part.line,
                                     f"`{command}` exited {done.returncode}, not {expected_rc}:\n{output[-2000:]}"):
                continue
            if expected is None:
                continue
            got = output.rstrip("\n").split("\n") if output.strip() else []
            want = list(expected)
            while want and not want[-1].strip():
                want.pop()
            self.checks.check(self.same_output(want, got, vary, command), part.line,
                              f"`{command}` printed\n" + "\n".join(got) + "\nnot\n" + "\n".join(want))

    def same_output(self, want, got, vary, command):
        if len(want) != len(got):
            return False
        for w, g in zip(want, got):
            if w.startswith("{"):
                try:
                    wj, gj = json.loads(w), json.loads(g)
                except ValueError:
                    return False
                if not same_json(wj, gj, vary):
                    return False
                tokens = shlex.split(command)
                if len(tokens) > 1 and tokens[0] == "scripts/remask":
                    self.json_examples[tokens[1]] = wj
            elif w != g:
                return False
        return True

    def check_slow(self, part):
        for command, _ in commands_of_block(part.lines):
            tokens = shlex.split(command, comments=True)
            for i, token in enumerate(tokens):
                if not token.startswith("scripts/"):
                    continue
                script = os.path.join(self.copy, token)
                if not self.checks.check(os.access(script, os.X_OK), part.line, f"{token} is not an executable script"):
                    continue
                options = [t.split("=")[0] for t in tokens[i + 1:] if t.startswith("--")]
                if token == "scripts/remask":
                    subcommand = next((t for t in tokens[i + 1:] if not t.startswith("-")), "")
                    help = self.help(subcommand)
                    known = (lambda o: help.knows(o)) if help else (lambda o: False)
                else:
                    with open(script, encoding="utf-8") as f:
                        if "--help)" not in f.read():
                            continue
                    text = self.shell(token + " --help").stdout.decode()
                    known = (lambda o, text=text: re.search(re.escape(o) + r"(?![\w-])", text) is not None)
                unknown = [o for o in options if not known(o)]
                self.checks.check(not unknown, part.line, f"`{command.strip()}`: {token} has no options {unknown}")

    def run_java(self, part, following):
        m = re.search(r"\bclass (\w+)", "\n".join(part.lines))
        if not self.checks.check(m is not None, part.line, "the Java block has no class"):
            return
        source = os.path.join(self.copy, m.group(1) + ".java")
        with open(source, "w", encoding="utf-8") as f:
            f.write("\n".join(part.lines) + "\n")
        java = os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "java")
        done = subprocess.run([java, "-cp", "target/remask.jar", "--enable-native-access=ALL-UNNAMED", source],
                              cwd=self.copy, stdin=subprocess.DEVNULL, capture_output=True, timeout=COMMAND_TIMEOUT)
        output = done.stdout.decode("utf-8", "replace")
        if not self.checks.check(done.returncode == 0, part.line,
                                 f"the Java example exited {done.returncode}:\n{done.stderr.decode()[-2000:]}"):
            return
        if self.checks.check(following is not None and following.marker_words()[:1] == ["java-output"],
                             part.line, "the Java example needs its output in the next block (java-output)"):
            want = "\n".join(following.lines).rstrip("\n")
            self.checks.check(output.rstrip("\n") == want, following.line,
                              f"the Java example printed\n{output}\nnot\n{want}")

    def check_json_fields(self, part):
        command = part.marker_words()[1]
        example = self.json_examples.get(command)
        if not self.checks.check(example is not None, part.line, f"no quick JSON example of remask {command} before"):
            return
        fields = {row[0].strip("`") for row in table_rows(part)}
        self.checks.check(fields == set(example), part.line,
                          f"JSON fields of remask {command}: the table lists {sorted(fields)}, "
                          f"the output has {sorted(example)}")

    def sweep_results(self, where, directory):
        """(schedule, parameter, revise) -> (nfe, pass@1, passed, tasks) of DIR/sweep.csv, or None (a row of a
        CSV from before the revise column is without revision)."""
        path = os.path.join(self.copy, directory, "sweep.csv")
        if not self.checks.check(os.path.isfile(path), where, f"{directory}/sweep.csv is missing"):
            return None
        with open(path, encoding="utf-8") as f:
            rows = [line.strip().split(",") for line in f.readlines()[1:] if line.strip()]
        return {(r[0], r[1], r[7] if len(r) > 7 else "none"): (float(r[2]), float(r[3]), int(r[6]), int(r[5]))
                for r in rows}

    def check_sweep_table(self, part, directory):
        results = self.sweep_results(part.line, directory)
        if results is None:
            return
        rows = table_rows(part)
        shown = {}
        for row in rows:  # a sixth column, where there is one, is the revision rule
            key = (row[0], str(float(row[1])) if row[0] == "threshold" else row[1], row[5] if len(row) > 5 else "none")
            shown[key] = row[2:5]
        recorded = {key: [f"{nfe:.2f}", f"{passes:.3f}", f"{passed} of {tasks}"]
                    for key, (nfe, passes, passed, tasks) in results.items()}
        self.checks.check(shown == recorded, part.line, f"the table differs from {directory}/sweep.csv: "
                          f"{sorted(set(map(str, shown.items())) ^ set(map(str, recorded.items())))}")

    def check_cache_table(self, part, directory):
        header = table_rows(Part("table", 0, None, ["", ""] + part.lines[:1]))[0]
        modes = header[3:]
        for row in table_rows(part):
            schedule, parameter = row[1].split()
            key = (schedule, str(float(parameter)) if schedule == "threshold" else parameter, "none")
            for mode, cell in zip(modes, row[3:]):
                results = self.sweep_results(part.line, f"{directory}/B{row[0]}-{mode}")
                if results is None:
                    continue
                recorded = f"{results[key][1]:.3f}" if key in results else None
                self.checks.check(cell == recorded, part.line, f"block {row[0]}, {row[1]}, {mode}: the README says "
                                  f"{cell}, {directory}/B{row[0]}-{mode}/sweep.csv {recorded}")

    def check_test_programs(self):
        with open(os.path.join(self.root, "scripts", "test"), encoding="utf-8") as f:
            programs = re.findall(r"^run_\w+ (\S+)", f.read(), re.MULTILINE)
        with open(os.path.join(self.root, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        for program in programs:
            self.checks.check(program in readme, 0, f"scripts/test runs {program}, which the README does not name")


def same_json(want, got, vary, key=None):
    if key in vary:
        return isinstance(got, type(want)) or (isinstance(want, (int, float)) and isinstance(got, (int, float)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and list(want) == list(got)
                and all(same_json(want[k], got[k], vary, k) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(want) == len(got)
                and all(same_json(w, g, vary, key) for w, g in zip(want, got)))
    return want == got and type(want) is type(got)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.split("\n")[2], file=sys.stderr)
        sys.exit(2)
    sys.exit(ReadmeTest(os.path.abspath(sys.argv[1])).run())

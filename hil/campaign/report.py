"""Campaign results and their table in docs/reliability.md.

Each campaign owns one generated section of the document, between
`<!-- campaign NAME: begin -->` and `<!-- campaign NAME: end -->`; a rerun rewrites
its own section and leaves the rest (other campaigns, the hand-written text) alone.
"""

import datetime
import re

from ground import REPO_ROOT

DOC = REPO_ROOT / "docs" / "reliability.md"


class Row:
    """One check: how many trials, how many failed, and the figures measured."""

    def __init__(self, check, trials=0, failures=0, figures="", examples=None):
        self.check = check
        self.trials = trials
        self.failures = failures
        self.figures = figures
        self.examples = examples if examples is not None else []  # a few failing cases, for the report

    def fail(self, example):
        self.failures += 1
        if len(self.examples) < 5:
            self.examples.append(example)

    def __repr__(self):
        return "Row(%r, trials=%d, failures=%d, %r)" % (self.check, self.trials, self.failures, self.figures)


class Result:
    def __init__(self, name, title):
        self.name = name
        self.title = title
        self.rows = []
        self.notes = []  # defects found, limits of the run

    def row(self, check, **kwargs):
        r = Row(check, **kwargs)
        self.rows.append(r)
        return r

    def get(self, check):
        for r in self.rows:
            if r.check == check:
                return r
        raise KeyError(check)

    @property
    def failures(self):
        return sum(r.failures for r in self.rows)

    def lines(self):
        out = ["%s: %s" % (self.name, self.title)]
        for r in self.rows:
            out.append("  %-52s trials %6d  failures %4d  %s" % (r.check, r.trials, r.failures, r.figures))
            for ex in r.examples:
                out.append("      e.g. %s" % ex)
        for n in self.notes:
            out.append("  note: %s" % n)
        return out

    def markdown(self, command):
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        out = [
            "### %s" % self.title,
            "",
            "`%s` (%s)" % (command, when),
            "",
            "| check | trials | failures | figures |",
            "|---|---:|---:|---|",
        ]
        for r in self.rows:
            out.append("| %s | %d | %d | %s |" % (_cell(r.check), r.trials, r.failures, _cell(r.figures)))
        bullets = ["- %s failed: %s" % (_cell(r.check), _cell(ex)) for r in self.rows for ex in r.examples]
        bullets += ["- %s" % _cell(n) for n in self.notes]
        if bullets:
            out.append("")
            out += bullets
        return "\n".join(out)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markers(name):
    return "<!-- campaign %s: begin -->" % name, "<!-- campaign %s: end -->" % name


def write_section(result, command, path=None, order=()):
    """Put `result`'s table into `path` between its markers (rewritten on a rerun).

    A section not in the file yet goes before the first later campaign of `order`,
    else at the end."""
    path = DOC if path is None else path
    begin, end = _markers(result.name)
    body = "%s\n%s\n%s" % (begin, result.markdown(command), end)
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body, text, count=1)
    else:
        later = list(order)[list(order).index(result.name) + 1 :] if result.name in order else []
        for other in later:
            b, _ = _markers(other)
            i = text.find(b)
            if i >= 0:
                text = text[:i] + body + "\n\n" + text[i:]
                break
        else:
            text = text.rstrip("\n") + ("\n\n" if text else "") + body + "\n"
    path.write_text(text)
    return path

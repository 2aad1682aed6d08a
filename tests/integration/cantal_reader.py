#!/usr/bin/env python3
"""Independent reader of lithos's metrics files, for the tests.

Written from the format description (issue 4, "Logs and metrics"), not from
the C writer:

  BASE.values  packed 8-byte host-order integers, value i at offset 8*i,
               u64 for counters, i64 for levels; the file size is a multiple
               of 4096.
  BASE.meta    one line per value, same order:
                 counter 8: {"group":"G","metric":"M"}
                 level 8 signed: {"group":"G","metric":"M"}
               JSON with sorted keys and no spaces.

Usage:
  cantal_reader.py [--json] [--strict] BASE
      print one line per value: KIND<TAB>GROUP<TAB>METRIC<TAB>VALUE
      (or a JSON list with --json).  --strict also requires zero padding
      after the last value, no duplicate names and at least one 4096 block.
  cantal_reader.py --prom FILE
      check a Prometheus text file (the subset lithos writes: TYPE lines,
      samples with optional labels) and print TYPE<TAB>NAME<TAB>LABELS<TAB>VALUE
      per sample, LABELS as compact sorted JSON.

Any violation: a message on stderr and exit status 1.  Python 3 stdlib only.
"""

import json
import re
import struct
import sys

BLOCK = 4096
LINE_RE = re.compile(r'\A(counter 8|level 8 signed): (\{.*\})\Z')
KINDS = {'counter 8': ('counter', '=Q'), 'level 8 signed': ('level', '=q')}


class Bad(Exception):
    pass


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'),
                      ensure_ascii=False)


def read_cantal(base, strict=False):
    try:
        with open(base + '.meta', 'rb') as f:
            meta = f.read()
        with open(base + '.values', 'rb') as f:
            values = f.read()
    except OSError as e:
        raise Bad(str(e))
    try:
        text = meta.decode('utf-8')
    except UnicodeDecodeError as e:
        raise Bad('%s.meta: not UTF-8: %s' % (base, e))
    if text and not text.endswith('\n'):
        raise Bad('%s.meta: last line not terminated' % base)
    lines = text.split('\n')[:-1] if text else []

    if len(values) % BLOCK:
        raise Bad('%s.values: size %d is not a multiple of %d'
                  % (base, len(values), BLOCK))
    if len(values) < 8 * len(lines):
        raise Bad('%s.values: %d bytes for %d values'
                  % (base, len(values), len(lines)))
    if strict and not values:
        raise Bad('%s.values: empty file' % base)

    out = []
    seen = set()
    for no, line in enumerate(lines, 1):
        mo = LINE_RE.match(line)
        if not mo:
            raise Bad('%s.meta:%d: bad line %r' % (base, no, line))
        header, js = mo.groups()
        try:
            obj = json.loads(js)
        except ValueError as e:
            raise Bad('%s.meta:%d: bad JSON: %s' % (base, no, e))
        if not isinstance(obj, dict) or sorted(obj) != ['group', 'metric']:
            raise Bad('%s.meta:%d: expected keys group and metric: %r'
                      % (base, no, js))
        if not all(isinstance(obj[k], str) and obj[k] for k in obj):
            raise Bad('%s.meta:%d: group and metric must be non-empty '
                      'strings' % (base, no))
        if canonical(obj) != js:
            raise Bad('%s.meta:%d: JSON not in canonical form (sorted keys, '
                      'no spaces): %r, expected %r'
                      % (base, no, js, canonical(obj)))
        name = (obj['group'], obj['metric'])
        if strict and name in seen:
            raise Bad('%s.meta:%d: duplicate %s.%s' % ((base, no) + name))
        seen.add(name)
        kind, fmt = KINDS[header]
        offset = 8 * (no - 1)
        (value,) = struct.unpack_from(fmt, values, offset)
        out.append({'kind': kind, 'group': obj['group'],
                    'metric': obj['metric'], 'value': value,
                    'offset': offset})
    if strict and any(values[8 * len(lines):]):
        raise Bad('%s.values: non-zero bytes after the last value' % base)
    return out


# ---- Prometheus text format (the subset lithos writes) ----

NAME_RE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def unescape_label(s):
    return re.sub(r'\\(.)', lambda m: {'n': '\n'}.get(m.group(1), m.group(1)),
                  s)


def parse_labels(s, where):
    labels = {}
    pos = 0
    while pos < len(s):
        mo = LABEL_RE.match(s, pos)
        if not mo:
            raise Bad('%s: bad labels %r' % (where, s))
        if mo.group(1) in labels:
            raise Bad('%s: label %s twice' % (where, mo.group(1)))
        labels[mo.group(1)] = unescape_label(mo.group(2))
        pos = mo.end()
        if pos < len(s):
            if s[pos] != ',':
                raise Bad('%s: bad labels %r' % (where, s))
            pos += 1
    return labels


def read_prom(path):
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8')
    except (OSError, UnicodeDecodeError) as e:
        raise Bad(str(e))
    if text and not text.endswith('\n'):
        raise Bad('%s: last line not terminated' % path)
    types = {}
    done = set()         # families whose samples are over
    current = None
    series = set()
    out = []
    for no, line in enumerate(text.split('\n')[:-1], 1):
        where = '%s:%d' % (path, no)
        if not line.strip():
            continue
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] == 'TYPE':
                if len(parts) != 4 or not NAME_RE.fullmatch(parts[2]):
                    raise Bad('%s: bad TYPE line' % where)
                name, kind = parts[2], parts[3]
                if kind not in ('counter', 'gauge'):
                    raise Bad('%s: unexpected type %s' % (where, kind))
                if name in types:
                    raise Bad('%s: second TYPE for %s' % (where, name))
                if kind == 'counter' and not name.endswith('_total'):
                    raise Bad('%s: counter %s without _total' % (where, name))
                types[name] = kind
            continue
        mo = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)',
                          line)
        if not mo:
            raise Bad('%s: bad sample %r' % (where, line))
        name, labels, value = mo.groups()
        if name not in types:
            raise Bad('%s: sample of %s before its TYPE' % (where, name))
        if name != current:
            if name in done:
                raise Bad('%s: samples of %s not together' % (where, name))
            if current:
                done.add(current)
            current = name
        labels = parse_labels(labels or '', where)
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise Bad('%s: duplicate series %r' % (where, line))
        series.add(key)
        try:
            v = float(value)
        except ValueError:
            raise Bad('%s: bad value %r' % (where, value))
        if types[name] == 'counter' and v < 0:
            raise Bad('%s: negative counter' % where)
        out.append({'type': types[name], 'name': name, 'labels': labels,
                    'value': value})
    return out


USAGE = ('usage: cantal_reader.py [--json] [--strict] BASE\n'
         '       cantal_reader.py [--json] --prom FILE\n')


def main(argv):
    as_json = strict = False
    prom = None
    args = []
    it = iter(argv)
    for a in it:
        if a == '--json':
            as_json = True
        elif a == '--strict':
            strict = True
        elif a == '--prom':
            prom = next(it, None)
            if prom is None:
                sys.stderr.write(USAGE)
                return 2
        else:
            args.append(a)
    if len(args) != (0 if prom is not None else 1):
        sys.stderr.write(USAGE)
        return 2
    try:
        if prom is not None:
            res = read_prom(prom)
            if as_json:
                print(json.dumps(res, sort_keys=True))
            for r in ([] if as_json else res):
                print('%s\t%s\t%s\t%s' % (r['type'], r['name'],
                                          canonical(r['labels']), r['value']))
            return 0
        res = read_cantal(args[0], strict)
    except Bad as e:
        sys.stderr.write('cantal_reader: %s\n' % e)
        return 1
    if as_json:
        print(json.dumps(res, sort_keys=True))
    else:
        for r in res:
            print('%s\t%s\t%s\t%d' % (r['kind'], r['group'], r['metric'],
                                      r['value']))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

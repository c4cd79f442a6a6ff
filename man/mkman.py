#!/usr/bin/env python3
"""man/mkman.py: the man pages, generated from one source each.

Each page is a template (man/NAME.SECTION.in, a small markdown-like text)
whose placeholders are filled from what the programs and example files
say themselves, so that --help, the example configurations, the man pages
and docs/ cannot drift apart (tests/package/manpages.sh compares them):

  @COMMANDS@   icpguard(1): `icpguard --help` lists the subcommands; the
               text of each is `icpguard CMD --help`
  @HELP@       icpguard-loader(8): `icpguard-loader --help`
  @KEYS@       icpguard.conf(5), icpguard-loader.conf(5): every key of the
               example configuration with its comment and example value
  @VERSION@    the package version

Usage:
  mkman.py page TEMPLATE OUT --version V [--prog PATH] [--example FILE]
  mkman.py keys-example FILE      keys an example configuration sets
  mkman.py keys-man FILE          keys a generated section-5 page lists
  mkman.py commands-help PROG     subcommands `PROG --help` lists
  mkman.py commands-man FILE      subcommands a generated page describes

Template syntax: '% TITLE SECTION' first line; '# HEAD' a section;
'## HEAD' a subsection; a blank line a new paragraph; lines indented four
spaces are kept as they are (examples); '- ' starts a bullet; '**x**' bold,
'*x*' italic, `x` bold.
"""
import re
import subprocess
import sys
import time

KEY_RE = re.compile(r'^([a-z][a-z0-9-]*):(?:\s+(.*?))?\s*$')


def esc(s):
    """escape text for roff"""
    s = s.replace('\\', '\\e').replace('-', '\\-')
    if s.startswith('.') or s.startswith("'"):
        s = '\\&' + s
    return s


def inline(s):
    """escape, then the markdown-like inline marks"""
    s = esc(s)
    s = re.sub(r'\*\*(.+?)\*\*', r'\\fB\1\\fR', s)
    s = re.sub(r'`(.+?)`', r'\\fB\1\\fR', s)
    s = re.sub(r'(?<![\w*])\*(\S.*?)\*(?![\w*])', r'\\fI\1\\fR', s)
    return s


def preformatted(lines):
    """lines kept as they are"""
    out = ['.PP', '.nf', '.RS 4']
    out += [esc(l) if l.strip() else '' for l in lines]
    out += ['.RE', '.fi']
    return out


def run(argv):
    """standard output of a program run with argv (exit status ignored)"""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    return p.stdout.rstrip('\n').split('\n')


def commands_help(prog):
    """(name, summary) of each subcommand in `prog --help`"""
    cmds, on = [], False
    for l in run([prog, '--help']):
        if l.strip() == 'commands:':
            on = True
            continue
        if on:
            m = re.match(r'^  (\S+)\s+(.*)$', l)
            if not m:
                break
            cmds.append((m.group(1), m.group(2)))
    if not cmds:
        # a page without its commands must not be installed quietly (the
        # icpguard front could not run the full tool, say)
        sys.exit('mkman: `%s --help` lists no commands:\n%s' %
                 (prog, '\n'.join(run([prog, '--help']))))
    return cmds


def help_block(lines):
    """a --help text as roff: option lines as tagged paragraphs, the rest
    as paragraphs; 'usage:' lines as a synopsis"""
    out, para, i = [], [], 0

    def flush():
        if para:
            out.append('.PP')
            out.extend(esc(x) for x in para)
            del para[:]

    while i < len(lines):
        l = lines[i]
        m = re.match(r'^ {2}(-\S.*?|[a-z][a-z-]*(?: [A-Z.\[\]]+)*|[a-z]+ [A-Z].*?)(?: {2,}(\S.*))?$', l)
        if l.startswith('usage:') or (l.startswith('       ') and out and out[-1] == '.fi'):
            flush()
            out += ['.PP' if not out or out[-1] != '.fi' else '.br',
                    '.nf', esc(l.replace('usage: ', '', 1).strip()), '.fi']
        elif not l.strip():
            flush()
        elif m and (l.startswith('  -') or m.group(2)):
            flush()
            out += ['.TP', '\\fB' + esc(m.group(1)) + '\\fR']
            if m.group(2):
                out.append(esc(m.group(2)))
            # continuation lines: indented further than the tag
            while i + 1 < len(lines) and re.match(r'^ {6,}\S', lines[i + 1]):
                i += 1
                out.append(esc(lines[i].strip()))
        else:
            para.append(l.strip())
        i += 1
    flush()
    return out


def example_entries(path):
    """entries of an example configuration: (keys [(key, value)], comment
    lines); comment blocks without keys are kept as notes (keys == [])"""
    entries, comments, keys, header = [], [], [], True
    for raw in open(path, encoding='utf-8'):
        l = raw.rstrip('\n')
        if header:
            if not l.strip():
                header = False
            continue
        m = KEY_RE.match(l)
        if m:
            keys.append((m.group(1), m.group(2) or ''))
            continue
        if keys:
            entries.append((keys, comments))
            keys, comments = [], []
        if l.startswith('#'):
            comments.append(l[1:].strip())
        elif not l.strip() and comments:
            entries.append(([], comments))
            comments = []
    if keys or comments:
        entries.append((keys, comments))
    return entries


def keys_block(path):
    """every key of an example configuration as tagged paragraphs"""
    out = []
    for keys, comments in example_entries(path):
        if not keys:
            out += ['.PP'] + [esc(c) for c in comments]
            continue
        for n, (k, v) in enumerate(keys):
            out.append('.TP' if n == 0 else '.TQ')
            out.append('\\fB%s:\\fR %s' % (esc(k), ('\\fI' + esc(v) + '\\fR') if v else '(empty)'))
        out += [esc(c) for c in comments]
    return out


def commands_block(prog):
    """each subcommand: its summary and its --help text"""
    out = []
    for name, summary in commands_help(prog):
        out += ['.SS "icpguard %s"' % name, esc(summary[0].upper() + summary[1:]) + '.']
        out += help_block(run([prog, name, '--help']))
    return out


def page(template, dst, version, prog, example):
    out, para, pre = [], False, []
    lines = open(template, encoding='utf-8').read().split('\n')
    title, section = lines[0].lstrip('% ').split()[:2]
    date = time.strftime('%Y-%m-%d', time.gmtime(int(
        __import__('os').environ.get('SOURCE_DATE_EPOCH', time.time()))))
    out.append('.\\" Generated by man/mkman.py from %s; do not edit.' %
               template.split('/')[-1])
    out.append('.TH "%s" "%s" "%s" "icpguard %s" "icpguard"' %
               (title.upper(), section, date, version))
    for l in lines[1:] + ['']:
        if l.startswith('    ') and (pre or not para or True) and l.strip():
            pre.append(l[4:])
            continue
        if pre:
            out += preformatted(pre)
            pre = []
            para = False
        s = l.strip()
        if s == '@COMMANDS@':
            out += commands_block(prog)
            para = False
        elif s == '@HELP@':
            out += help_block(run([prog, '--help']))
            para = False
        elif s == '@KEYS@':
            out += keys_block(example)
            para = False
        elif l.startswith('## '):
            out.append('.SS "%s"' % l[3:])
            para = False
        elif l.startswith('# '):
            out.append('.SH "%s"' % l[2:])
            para = False
        elif not s:
            para = False
        elif l.startswith('- '):
            out += ['.IP \\(bu 2', inline(l[2:].replace('@VERSION@', version))]
            para = True
        else:
            if not para and out[-1][:3] not in ('.SH', '.SS'):
                out.append('.PP')
            out.append(inline(l.replace('@VERSION@', version)))
            para = True
    with open(dst, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')


def main(argv):
    if len(argv) >= 3 and argv[0] == 'page':
        opts = {'--version': '', '--prog': '', '--example': ''}
        rest = argv[3:]
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                sys.exit('mkman: bad option %s' % rest[0])
            opts[rest[0]] = rest[1]
            rest = rest[2:]
        page(argv[1], argv[2], opts['--version'], opts['--prog'],
             opts['--example'])
    elif len(argv) == 2 and argv[0] == 'keys-example':
        ks = [k for keys, _ in example_entries(argv[1]) for k, _ in keys]
        print('\n'.join(sorted(set(ks))))
    elif len(argv) == 2 and argv[0] == 'keys-man':
        ks = re.findall(r'^\\fB([a-z0-9\\-]+):\\fR', open(argv[1]).read(), re.M)
        print('\n'.join(sorted(set(k.replace('\\-', '-') for k in ks))))
    elif len(argv) == 2 and argv[0] == 'commands-help':
        print('\n'.join(sorted(n for n, _ in commands_help(argv[1]))))
    elif len(argv) == 2 and argv[0] == 'commands-man':
        cs = re.findall(r'^\.SS "icpguard (\S+)"', open(argv[1]).read(), re.M)
        print('\n'.join(sorted(cs)))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])

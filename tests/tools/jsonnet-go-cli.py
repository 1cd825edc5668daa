#!/usr/bin/env python3
"""`jsonnet` for the test suite: Go jsonnet's evaluator, with the Go command line's options.

scripts/install-tools installs this as $DEPLOY_TOOLS_DIR/bin/jsonnet, run by a virtualenv that
holds the `gojsonnet` wheel from PyPI (go-jsonnet compiled as a Python extension; PyPI ships no
`jsonnet` program, and this machine cannot build one). The wheel's `evaluate_file` is go-jsonnet's
own evaluator and importer: std.thisFile is the path given, relative imports resolve from its
folder, library folders are searched right-most first. This file only reads the options
`deploy` passes (and a few more) as go-jsonnet's cmd/jsonnet reads them:

  jsonnet [--jpath|-J DIR]... [--ext-str|-V NAME[=VALUE]]... [--max-stack|-s N]
          [--max-trace|-t N] [--output-file|-o FILE] [--] FILE
  jsonnet --version

JSONNET_PATH folders come before --jpath ones (so --jpath wins), as in go-jsonnet. An error is
printed on stderr with exit status 1; the output is written as go-jsonnet writes it.
"""
import os
import sys

import _gojsonnet


def fail(msg):
    sys.stderr.write("ERROR: %s\n" % msg)
    sys.exit(1)


def main(args):
    env_path = [p for p in os.environ.get("JSONNET_PATH", "").split(os.pathsep) if p]
    jpath = list(reversed(env_path))
    ext_vars = {}
    output = None
    max_stack = 500
    max_trace = 20
    files = []
    i = 0

    def value():
        nonlocal i
        i += 1
        if i >= len(args):
            fail("expected an argument after %s" % args[i - 1])
        return args[i]

    while i < len(args):
        a = args[i]
        if a in ("-v", "--version"):
            print("Jsonnet commandline interpreter (Go implementation) %s" % _gojsonnet.version)
            return 0
        if a in ("-J", "--jpath"):
            d = value()
            if not d:
                fail("-J argument was empty string")
            jpath.append(d)
        elif a in ("-V", "--ext-str"):
            v = value()
            name, eq, content = v.partition("=")
            if not eq:
                if name not in os.environ:
                    fail("environment variable %s was undefined." % name)
                content = os.environ[name]
            ext_vars[name] = content
        elif a in ("-o", "--output-file"):
            output = value()
            if not output:
                fail("-o argument was empty string")
        elif a in ("-s", "--max-stack"):
            max_stack = int(value())
            if max_stack < 1:
                fail("invalid --max-stack value: %d" % max_stack)
        elif a in ("-t", "--max-trace"):
            max_trace = int(value())
            if max_trace < 0:
                fail("invalid --max-trace value: %d" % max_trace)
        elif a == "--":
            files.extend(args[i + 1 :])
            break
        elif a.startswith("-") and a != "-":
            fail("unknown option: %s (this test jsonnet only knows deploy's options)" % a)
        else:
            files.append(a)
        i += 1
    if len(files) != 1:
        fail("only one filename is allowed")
    try:
        out = _gojsonnet.evaluate_file(
            files[0], jpathdir=jpath, ext_vars=ext_vars,
            max_stack=max_stack,
            max_trace=max_trace,
        )
    except RuntimeError as e:
        sys.stderr.write(str(e).rstrip("\n") + "\n")
        return 1
    if output is None:
        sys.stdout.write(out)
    else:
        with open(output, "w", encoding="utf-8") as f:
            f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

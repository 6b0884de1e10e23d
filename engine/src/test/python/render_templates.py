#!/usr/bin/env python3
"""Writes the expected chat-template renderings that ChatTemplateConformanceTest compares against, byte for byte.

The reference is Python's jinja2 configured exactly as Hugging Face transformers configures it for
apply_chat_template (transformers 5.18, utils/chat_template_utils.py, _compile_jinja_template and
render_jinja_template): an ImmutableSandboxedEnvironment with trim_blocks=True, lstrip_blocks=True and the
jinja2.ext.loopcontrols extension (plus transformers' {% generation %} tag, which no template here uses); its own
tojson filter (json.dumps with ensure_ascii=False); the raise_exception global; and the variables messages, tools
(None when not given), documents (None), add_generation_prompt and the special tokens (bos_token, eos_token).
transformers itself is not imported: it needs huggingface_hub, tokenizers and more; the setup above is its code's.

Usage (from the repository root; jinja2 from the pip mirror, `pip install jinja2`):
    python3 engine/src/test/python/render_templates.py
It reads engine/src/test/resources/chat-templates/{templates.json, conversations.json, tool-conversations.json,
*.jinja, expressions.txt} and rewrites expected.json there: the renderings of every template, and of every line of
expressions.txt rendered alone as "{{ line }}" with PROBE_VARIABLES (its text, or the error jinja2 raised). Run it again after changing any of them, and commit the result.
"""
import json
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.normpath(os.path.join(HERE, "..", "resources", "chat-templates"))


# Variables of the one-expression probes (expressions.txt): each line is rendered as "{{ line }}".
PROBE_VARIABLES = {
    "s": "Hello, World!", "n": 7, "f": 2.5, "l": [3, 1, 2], "d": {"b": 1, "a": 2},
    "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "  hi  "},
                 {"role": "assistant", "content": "yo"}],
}


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def load(name):
    with open(os.path.join(DIR, name), encoding="utf-8", newline="") as f:
        return f.read()


def main():
    env = environment()
    templates = json.loads(load("templates.json"))
    conversations = json.loads(load("conversations.json"))
    tool_file = json.loads(load("tool-conversations.json"))
    cases = []
    for name, spec in templates.items():
        template = env.from_string(load(spec["file"]))
        runs = [(c, msgs, None) for c, msgs in conversations.items()]
        if spec.get("tools"):
            runs += [(c, msgs, tool_file["tools"]) for c, msgs in tool_file["conversations"].items()]
        for conversation, messages, tools in runs:
            for generation_prompt in (True, False):
                case = {"template": name, "conversation": conversation, "tools": tools is not None,
                        "add_generation_prompt": generation_prompt}
                try:
                    case["text"] = template.render(messages=messages, tools=tools, documents=None,
                                                   add_generation_prompt=generation_prompt,
                                                   bos_token=spec["bos_token"], eos_token=spec["eos_token"])
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    probes = []
    for line in load("expressions.txt").splitlines():
        if not line.strip():
            continue
        probe = {"expression": line}
        try:
            probe["text"] = env.from_string("{{ " + line + " }}").render(**PROBE_VARIABLES)
        except Exception as e:  # jinja2's errors and Python's (TypeError, ZeroDivisionError, ...) alike
            probe["error"] = type(e).__name__ + ": " + str(e)
        probes.append(probe)
    out = {"generator": "engine/src/test/python/render_templates.py",
           "jinja2": jinja2.__version__, "python": sys.version.split()[0], "cases": cases,
           "probe_variables": PROBE_VARIABLES, "probes": probes}
    with open(os.path.join(DIR, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(cases)} renderings written to {os.path.join(DIR, 'expected.json')}")


if __name__ == "__main__":
    main()

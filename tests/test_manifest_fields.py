"""The original Zako's manifest fields: each accepted in its valid forms,
each refused with ``file:line`` and the field's name; unknown keys warn."""

from __future__ import annotations

import logging

import pytest

from zako.project.errors import ManifestError
from zako.project.manifest import check_author, check_spdx_expression, is_loose_ident, parse_config_text, read_manifest

from project_tree import write_files

BASE = 'group = "g"\nartifact = "a"\nversion = "1.0.0"\n'


def manifest(tmp_path, text: str, name: str = "zako.toml"):
    write_files(tmp_path, {name: text})
    return read_manifest(str(tmp_path))


def refused(tmp_path, text: str, name: str = "zako.toml"):
    with pytest.raises(ManifestError) as info:
        manifest(tmp_path, text, name)
    return info.value.problem


def test_every_original_field_in_toml(tmp_path):
    m = manifest(tmp_path, BASE + """
description = "d"
license = "Apache-2.0 OR MIT"
authors = ["Moe Godot <me@kawayi.moe>", "A. N. Other <x.y@example.co.uk>"]
builds = ["src/**"]
rules = { include = ["rules/**/*.rule.ts"], exclude = ["rules/test/**"] }
toolchains = ["tc/**"]
peers = ["peer/**"]
mount_config = "cfg"
configure_script = "configure.ts"

[dependencies]
lib = { path = "../lib" }
reg = { package = "com.x:y@1.0.0" }
git = { repo = "https://example.com/r.git", checkout = "v1" }
web = { url = "https://example.com/a.tar.gz" }

[config]
debug = { type = "boolean", default = false }
level = { type = "number", default = 3 }
name = { type = "string", default = "x" }
main = { type = "label", default = "//app:main" }
""")
    assert m.license == "Apache-2.0 OR MIT"
    assert m.authors == ("Moe Godot <me@kawayi.moe>", "A. N. Other <x.y@example.co.uk>")
    assert m.builds == {"include": ["src/**"], "exclude": []}
    assert m.rules == {"include": ["rules/**/*.rule.ts"], "exclude": ["rules/test/**"]}
    assert m.dependencies["lib"] == {"path": "../lib"} and m.dependencies["git"]["checkout"] == "v1"
    assert m.config_values() == {"debug": False, "level": 3, "main": "//app:main", "name": "x"}
    assert m.config_values({"level": 5})["level"] == 5
    assert (m.mount_config, m.configure_script) == ("cfg", "configure.ts")


def test_original_json_manifest_with_options_loads(tmp_path):
    m = manifest(tmp_path, """{
    "group": "fra.moe",
    "artifact": "zako",
    "version": "1.0.0",
    "description": "An example zako project",
    "license": "MIT",
    "authors": ["MoeGodot <me@kawayi.moe>"],
    "options": {"debug": {"type": "boolean", "default": false}}
}
""", "zako.json")
    assert (m.license, m.authors, m.options["debug"]["type"]) == ("MIT", ("MoeGodot <me@kawayi.moe>",), "boolean")


def test_unknown_key_warns_naming_key_and_file(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="zako.project.manifest"):
        m = manifest(tmp_path, BASE + 'workspaces = ["src/**"]\n')
    assert m.warnings == (m.warnings[0],)
    assert m.warnings[0].startswith("zako.toml:4: unknown manifest field 'workspaces' is ignored")
    assert [r.getMessage() for r in caplog.records] == list(m.warnings)


@pytest.mark.parametrize(
    ("extra", "line", "fragment"),
    [
        ('license = "MIT OR"\n', 4, "field 'license': 'MIT OR' is not an SPDX license expression"),
        ('license = "(MIT"\n', 4, "expected ')'"),
        ('authors = ["nobody"]\n', 4, "field 'authors': author 'nobody' is not of the form"),
        ('authors = ["A <a@b>", "B b@c"]\n', 4, "'B b@c'"),
        ('builds = ["/abs/**"]\n', 4, "field 'builds': pattern '/abs/**' is absolute"),
        ('rules = ["../x/*.rule.ts"]\n', 4, "leaves the project"),
        ('toolchains = { include = ["a"], only = ["b"] }\n', 4, "unknown key 'only'"),
        ('peers = "x"\n', 4, "field 'peers': must be a list of globs"),
        ('[dependencies]\n"9bad" = { path = "x" }\n', 5, "dependency name '9bad' is not an identifier"),
        ('[dependencies]\nx = { path = "p", url = "u" }\n', 5, "must be one of {package}, {repo, checkout}, {url} or {path}"),
        ('[dependencies]\nx = { path = "/abs" }\n', 5, "path '/abs' is absolute"),
        ('[config]\ndebug = { type = "boolean", default = "no" }\n', 5, "config 'debug' is a boolean, got 'no'"),
        ('[config]\nn = { type = "number" }\n', 5, "config 'n' has no default"),
        ('[config]\nn = { type = "float", default = 1 }\n', 5, "unknown type 'float'"),
        ('[config]\nl = { type = "label", default = "app" }\n', 5, "config 'l' is a label: invalid label 'app'"),
        ('mount_config = 3\n', 4, "field 'mount_config': must be a string"),
    ],
)
def test_bad_field_names_file_line_and_field(tmp_path, extra, line, fragment):
    p = refused(tmp_path, BASE + extra)
    assert (p.kind, p.file, p.line) == ("manifest", "zako.toml", line)
    assert fragment in p.message


@pytest.mark.parametrize("version", ["1.0.0", "0.0.1-alpha.1+build.5", "10.20.30", "1", "1.2"])
def test_versions_accepted(tmp_path, version):
    assert manifest(tmp_path, f'group = "g"\nartifact = "a"\nversion = "{version}"\n').version == version


@pytest.mark.parametrize("version", ["1.0.0.0", "01.0.0", "1.0.0-", "v1.0.0", "abc", "1.0.0-01"])
def test_versions_refused(tmp_path, version):
    p = refused(tmp_path, f'group = "g"\nartifact = "a"\nversion = "{version}"\n')
    assert p.line == 3 and "field 'version'" in p.message and "not a semantic version" in p.message


def test_json_errors_name_the_line(tmp_path):
    p = refused(tmp_path, '{"group": "g",\n "artifact": "a",\n "version": "1.0.0",\n "license": "GPL-3.0+ WITH"\n}\n', "zako.json")
    assert (p.file, p.line) == ("zako.json", 4) and "exception id after WITH" in p.message


def test_misspelt_required_field_points_at_the_misspelling(tmp_path):
    p = refused(tmp_path, 'group = "g"\nartifact = "a"\nversoin = "1"\n')
    assert p.line == 3 and "missing required field 'version'" in p.message and "'versoin'" in p.message


@pytest.mark.parametrize(
    "expr",
    ["MIT", "Apache-2.0 OR MIT", "GPL-2.0+ WITH Classpath-exception-2.0", "(MIT AND BSD-3-Clause) OR Apache-2.0",
     "LicenseRef-mine", "DocumentRef-spdx:LicenseRef-x", "mit or apache-2.0"],
)
def test_spdx_accepts(expr):
    assert check_spdx_expression(expr) is None


@pytest.mark.parametrize("expr", ["", "MIT OR", "AND MIT", "MIT MIT", "(MIT", "MIT)", "MIT WITH", "MIT / BSD", "OR"])
def test_spdx_refuses(expr):
    assert check_spdx_expression(expr) is not None


def test_authors_and_idents():
    assert check_author("Moe Godot <me@kawayi.moe>") is None
    for bad in ["<a@b>", "Name a@b", "Na<me <a@b>", "Name <ab>", "Name <a@b>x"]:
        assert check_author(bad) is not None, bad
    assert all(is_loose_ident(s) for s in ["a", "_a", "-a", "é-1", "lib_2"])
    assert not any(is_loose_ident(s) for s in ["", "1a", "a.b", "a b", "a/b"])


def test_config_text_is_typed_or_refused(tmp_path):
    m = manifest(tmp_path, BASE + '[config]\nd = { type = "boolean", default = false }\n'
                 'n = { type = "number", default = 1 }\ns = { type = "string", default = "" }\n')
    assert parse_config_text(m, "d", "true") is True
    assert parse_config_text(m, "n", "2.5") == 2.5 and parse_config_text(m, "n", "7") == 7
    assert parse_config_text(m, "s", "true") == "true"
    with pytest.raises(ManifestError, match=r"--config d=yes: 'd' is a boolean config; 'yes' is not a boolean"):
        parse_config_text(m, "d", "yes")
    with pytest.raises(ManifestError, match=r"'n' is a number config; 'many' is not a number"):
        parse_config_text(m, "n", "many")
    with pytest.raises(ManifestError, match=r"no config named 'x' in zako.toml \(config: d, n, s\)"):
        parse_config_text(m, "x", "1")

"""The rule engine: query language, rule files, compiled rule sets, explain.

Pure and synchronous; see docs/RULES.md for the language.
"""
from bot.rules.errors import RuleSyntaxError
from bot.rules.rulefile import load_rule_file, parse_rules_toml, rules_to_toml
from bot.rules.ruleset import Query, RuleSet, compile_query, compile_rules
from bot.rules.validate import load_rule_set, rule_warnings, validate_change, validate_rule_set

__all__ = [
    "RuleSyntaxError", "RuleSet", "Query", "compile_rules", "compile_query",
    "parse_rules_toml", "load_rule_file", "rules_to_toml",
    "validate_rule_set", "validate_change", "load_rule_set", "rule_warnings",
]

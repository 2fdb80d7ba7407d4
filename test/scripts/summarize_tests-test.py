#!/usr/bin/env python3
"""scripts/summarize-tests over fabricated meson logs: the closing line adds up
every program's doctest summary, and each failed program gets one FAILED line
naming it, its log and what its output says. Run: summarize_tests-test.py SCRIPT"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = sys.argv.pop(1) if len(sys.argv) > 1 else "scripts/summarize-tests"

DOCTEST_FAIL = """\
===============================================================================
test/sessions-test.cc:40:
TEST CASE:  Delete(key) revokes every session
  on redis

test/sessions-test.cc:52: ERROR: CHECK( list->size() == 0 ) is NOT correct!
  values: CHECK( 2 == 0 )

===============================================================================
[doctest] test cases: 12 | 11 passed | 1 failed | 0 skipped
"""


def entry(name, result, stdout, duration=1.5):
    return json.dumps({"name": name, "result": result, "stdout": stdout, "duration": duration})


class SummarizeTests(unittest.TestCase):
    def run_script(self, *paths):
        done = subprocess.run([sys.executable, SCRIPT, *paths], capture_output=True, text=True)
        return done.returncode, done.stdout.splitlines()

    def write(self, directory, name, text):
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        return path

    def test_all_passed_prints_only_the_sum(self):
        with tempfile.TemporaryDirectory() as d:
            log = self.write(d, "testlog.json", "\n".join([
                entry("unit / a", "OK", "[doctest] test cases: 3 | 3 passed | 0 failed"),
                entry("unit / node", "OK", "ok 1 - interop"),
            ]) + "\n")
            summary = self.write(d, "fuzz.txt", "fuzz: 4 passed, 0 failed\n")
            code, lines = self.run_script(log, summary)
        self.assertEqual(code, 0)
        self.assertEqual(lines, ["5 passed, 0 failed"])

    def test_failed_case_is_named_with_its_assertion(self):
        with tempfile.TemporaryDirectory() as d:
            log = self.write(d, "testlog.json", "\n".join([
                entry("unit / a", "OK", "[doctest] test cases: 3 | 3 passed | 0 failed"),
                entry("integration / sessions", "FAIL", DOCTEST_FAIL, 12.5),
            ]) + "\n")
            code, lines = self.run_script(log)
        self.assertEqual(code, 1)
        self.assertEqual(lines[-1], "14 passed, 1 failed")
        self.assertEqual(len(lines), 2)
        failed = lines[0]
        self.assertTrue(failed.startswith("FAILED: integration / sessions ("), failed)
        self.assertIn(os.path.join(d, "testlog.txt"), failed)
        self.assertIn("FAIL after 12.5 s", failed)
        self.assertIn('"Delete(key) revokes every session / on redis"', failed)
        self.assertIn("CHECK( list->size() == 0 ) is NOT correct!", failed)
        self.assertIn("values: CHECK( 2 == 0 )", failed)

    def test_crash_without_cases_shows_the_sanitizer_report(self):
        with tempfile.TemporaryDirectory() as d:
            asan = ("starting\n==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"
                    "    #0 0x1 in f\n")
            log = self.write(d, "testlog.json", entry("unit / record", "ERROR", asan) + "\n")
            code, lines = self.run_script(log)
        self.assertEqual(code, 1)
        self.assertEqual(lines[-1], "0 passed, 1 failed")
        self.assertIn("==4242==ERROR: AddressSanitizer: heap-use-after-free", lines[0])

    def test_timeout_shows_the_last_output_line(self):
        with tempfile.TemporaryDirectory() as d:
            log = self.write(d, "testlog.json", entry("integration / slow", "TIMEOUT",
                                                      "first\nwaiting for redis-server\n\n") + "\n")
            code, lines = self.run_script(log)
        self.assertEqual(code, 1)
        self.assertIn("TIMEOUT", lines[0])
        self.assertIn("last output line: waiting for redis-server", lines[0])

    def test_failure_outside_the_cases_counts_once(self):
        with tempfile.TemporaryDirectory() as d:
            log = self.write(d, "testlog.json", entry(
                "unit / exit", "FAIL", "[doctest] test cases: 2 | 2 passed | 0 failed\nleak\n") + "\n")
            code, lines = self.run_script(log)
        self.assertEqual(code, 1)
        self.assertEqual(lines[-1], "2 passed, 1 failed")
        self.assertIn("outside its test cases", lines[0])

    def test_failed_summary_file_and_missing_file(self):
        with tempfile.TemporaryDirectory() as d:
            summary = self.write(d, "fuzz.txt", "record: crash-1234\n")
            missing = os.path.join(d, "absent.json")
            code, lines = self.run_script(summary, missing)
        self.assertEqual(code, 1)
        self.assertEqual(lines[-1], "0 passed, 2 failed")
        self.assertTrue(lines[0].startswith(f"FAILED: {summary} (FAIL)"), lines[0])
        self.assertTrue(lines[1].startswith(f"FAILED: {missing}:"), lines[1])

    def test_long_lines_are_cut(self):
        with tempfile.TemporaryDirectory() as d:
            log = self.write(d, "testlog.json", entry("unit / long", "FAIL", "x" * 5000 + "\n") + "\n")
            _, lines = self.run_script(log)
        self.assertLessEqual(len(lines[0]), 600)
        self.assertTrue(lines[0].endswith("..."))


if __name__ == "__main__":
    unittest.main(verbosity=2)

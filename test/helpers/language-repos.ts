/**
 * Small repositories in languages npm cannot supply (Ruby, C, Java), written here, and one real
 * Go library from Debian (kr/text 0.2.0, golang-github-kr-text-dev), each a git repository of
 * one commit cached under os.tmpdir()/ssr-fixtures. The pom.xml pins plugin versions that an
 * offline ~/.m2 holds (Maven's defaults for 3.8 are too old to be there).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cached, debianPackage, fixtureGit } from './debian-crates.js';

/** Builds the fixture once (see `cached`), as a git repository of one commit. */
function cachedRepo(name: string, build: (dir: string) => void): string {
  return cached(name, (dir) => {
    build(dir);
    fixtureGit(dir, 'init', '-q');
    fixtureGit(dir, 'add', '-A');
    fixtureGit(dir, 'commit', '-q', '--no-gpg-sign', '-m', name);
  });
}

function writeAll(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

export const rubyTextkitRepo = () =>
  cachedRepo('lang-ruby-textkit-v1', (d) => writeAll(d, RUBY_TEXTKIT));
export const cStrkitRepo = () => cachedRepo('lang-c-strkit-v1', (d) => writeAll(d, C_STRKIT));
export const javaCalcRepo = () => cachedRepo('lang-java-calc-v1', (d) => writeAll(d, JAVA_CALC));

/**
 * kr/text from Debian: the packages text and colwriter with their tests. Its mc package needs
 * a pty library Debian ships separately: left out, with go.mod's require of it, so the module
 * builds offline with the standard library alone.
 */
export function goKrTextRepo(): string {
  return cachedRepo('lang-go-kr-text-v1', (dir) => {
    const src = join(
      debianPackage('golang-github-kr-text-dev'),
      'usr/share/gocode/src/github.com/kr/text',
    );
    cpSync(src, dir, { recursive: true });
    rmSync(join(dir, 'mc'), { recursive: true, force: true });
    writeFileSync(join(dir, 'go.mod'), 'module github.com/kr/text\n\ngo 1.19\n');
  });
}

/** A Ruby library with a minitest suite (test/test_helper.rb requires minitest). */
export const RUBY_TEXTKIT: Record<string, string> = {
  'lib/textkit.rb': `module Textkit
  def self.words(text)
    text.split(/\\s+/).reject(&:empty?)
  end

  def self.capitalize_words(text)
    words(text).map { |w| w[0].upcase + w[1..] }.join(" ")
  end

  def self.truncate(text, width)
    return text if text.length <= width
    return text[0, width] if width < 4
    text[0, width - 3] + "..."
  end

  def self.pad_left(text, width, fill = " ")
    return text if text.length >= width
    (fill * (width - text.length)) + text
  end

  def self.count_vowels(text)
    count = 0
    text.each_char do |c|
      count += 1 if "aeiouAEIOU".include?(c)
    end
    count
  end

  def self.palindrome?(text)
    clean = text.downcase.gsub(/[^a-z0-9]/, "")
    return false if clean.empty?
    clean == clean.reverse
  end
end
`,
  'test/test_helper.rb': `require "minitest/autorun"
require "textkit"
`,
  'test/textkit_test.rb': `require "test_helper"

class TextkitTest < Minitest::Test
  def test_words
    assert_equal %w[a b c], Textkit.words(" a  b c ")
  end

  def test_capitalize_words
    assert_equal "Hello World", Textkit.capitalize_words("hello world")
  end

  def test_truncate_short
    assert_equal "abc", Textkit.truncate("abc", 5)
  end

  def test_truncate_long
    assert_equal "abcd...", Textkit.truncate("abcdefghij", 7)
  end

  def test_truncate_tiny
    assert_equal "ab", Textkit.truncate("abcdef", 2)
  end

  def test_pad_left
    assert_equal "  ab", Textkit.pad_left("ab", 4)
    assert_equal "00ab", Textkit.pad_left("ab", 4, "0")
    assert_equal "abcdef", Textkit.pad_left("abcdef", 4)
  end

  def test_count_vowels
    assert_equal 3, Textkit.count_vowels("education"[0, 5])
  end

  def test_palindrome
    assert Textkit.palindrome?("A man, a plan, a canal: Panama")
    refute Textkit.palindrome?("hello")
    refute Textkit.palindrome?("!!")
  end
end
`,
};

/** A C library built with CMake, two CTest tests using plain assert(). */
export const C_STRKIT: Record<string, string> = {
  'CMakeLists.txt': `cmake_minimum_required(VERSION 3.10)
project(strkit C)
enable_testing()
add_library(strkit src/strkit.c)
target_include_directories(strkit PUBLIC src)
add_executable(test_strkit tests/test_strkit.c)
target_link_libraries(test_strkit strkit)
add_test(NAME strkit COMMAND test_strkit)
add_executable(test_math tests/test_math.c)
target_link_libraries(test_math strkit)
add_test(NAME math COMMAND test_math)
`,
  'src/strkit.c': `#include "strkit.h"
#include <string.h>

size_t sk_count_char(const char *s, char c) {
    size_t n = 0;
    for (; *s; s++) {
        if (*s == c) {
            n++;
        }
    }
    return n;
}

int sk_is_palindrome(const char *s) {
    size_t len = strlen(s);
    if (len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len / 2; i++) {
        if (s[i] != s[len - 1 - i]) {
            return 0;
        }
    }
    return 1;
}

void sk_reverse(char *s) {
    size_t len = strlen(s);
    for (size_t i = 0; i < len / 2; i++) {
        char t = s[i];
        s[i] = s[len - 1 - i];
        s[len - 1 - i] = t;
    }
}

int sk_clamp(int x, int lo, int hi) {
    if (x < lo) {
        return lo;
    }
    if (x > hi) {
        return hi;
    }
    return x;
}

int sk_gcd(int a, int b) {
    while (b != 0) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

long sk_sum_digits(long n) {
    long total = 0;
    if (n < 0) {
        n = -n;
    }
    while (n > 0) {
        total += n % 10;
        n /= 10;
    }
    return total;
}
`,
  'src/strkit.h': `#ifndef STRKIT_H
#define STRKIT_H
#include <stddef.h>
size_t sk_count_char(const char *s, char c);
int sk_is_palindrome(const char *s);
void sk_reverse(char *s);
int sk_clamp(int x, int lo, int hi);
int sk_gcd(int a, int b);
long sk_sum_digits(long n);
#endif
`,
  'tests/test_math.c': `#include <assert.h>
#include "strkit.h"

int main(void) {
    assert(sk_clamp(9, 0, 5) == 5);
    assert(sk_clamp(-2, 0, 5) == 0);
    assert(sk_clamp(3, 0, 5) == 3);
    assert(sk_gcd(12, 18) == 6);
    assert(sk_sum_digits(-123) == 6);
    return 0;
}
`,
  'tests/test_strkit.c': `#include <assert.h>
#include <string.h>
#include "strkit.h"

int main(void) {
    assert(sk_count_char("banana", 'a') == 3);
    assert(sk_is_palindrome("racecar") == 1);
    assert(sk_is_palindrome("abc") == 0);
    assert(sk_is_palindrome("") == 0);
    char buf[] = "abcd";
    sk_reverse(buf);
    assert(strcmp(buf, "dcba") == 0);
    return 0;
}
`,
};

/** A Maven project with JUnit 5; plugin versions pinned to ones an offline ~/.m2 has. */
export const JAVA_CALC: Record<string, string> = {
  'pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>calc</groupId><artifactId>calc</artifactId><version>1.0</version>
  <properties><maven.compiler.source>17</maven.compiler.source><maven.compiler.target>17</maven.compiler.target><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies><dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><version>5.10.2</version><scope>test</scope></dependency></dependencies>
  <build><plugins>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin>
  </plugins></build>
</project>
`,
  'src/main/java/calc/Calc.java': `package calc;

import java.util.ArrayList;
import java.util.List;

public class Calc {
    public static int add(int a, int b) {
        return a + b;
    }

    public static int clamp(int x, int lo, int hi) {
        if (x < lo) {
            return lo;
        }
        if (x > hi) {
            return hi;
        }
        return x;
    }

    public static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        for (int i = 2; i * i <= n; i++) {
            if (n % i == 0) {
                return false;
            }
        }
        return true;
    }

    public static List<Integer> primesBelow(int limit) {
        List<Integer> out = new ArrayList<>();
        for (int i = 2; i < limit; i++) {
            if (isPrime(i)) {
                out.add(i);
            }
        }
        return out;
    }

    public static String repeat(String s, int times) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < times; i++) {
            sb.append(s);
        }
        return sb.toString();
    }
}
`,
  'src/test/java/calc/CalcTest.java': `package calc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CalcTest {
    @Test
    void adds() {
        assertEquals(3, Calc.add(1, 2));
    }

    @Test
    void clampsHigh() {
        assertEquals(5, Calc.clamp(9, 0, 5));
    }

    @Test
    void clampsLow() {
        assertEquals(0, Calc.clamp(-3, 0, 5));
    }

    @Test
    void primes() {
        assertTrue(Calc.isPrime(7));
        assertFalse(Calc.isPrime(9));
        assertFalse(Calc.isPrime(1));
    }

    @Test
    void primesBelow() {
        assertEquals(List.of(2, 3, 5, 7), Calc.primesBelow(10));
    }

    @Test
    void repeats() {
        assertEquals("ababab", Calc.repeat("ab", 3));
    }
}
`,
};

#!/bin/sh
# config/prompts.sh OUTDIR TEXTS_DIR CONFIG_INI turns the hotline's texts into
# WAV prompts for providers without text-to-speech (46elks), with espeak-ng.
# For each TEXTS_DIR/<lang>.ini it writes OUTDIR/<lang>/:
#   <key>.wav         each [voice] key without {placeholders}
#   <key>_<i>.wav     a template split at its placeholders: piece i is the text
#                     before the i-th placeholder, the last the text after the last
#                     (a piece without a letter or digit is 150 ms of silence)
#   char_<c>.wav      each character of the ticket-ref alphabet, spoken alone
#   area_<id>.wav     each [area <id>] name of CONFIG_INI ('-' and '.' in the id
#                     become '_')
# All files are RIFF/WAVE PCM 16-bit mono at espeak-ng's rate (22050 Hz), with
# no trailing sentence pause: gateway/wav.c joins them with its own gaps.
# Each file is written under a temporary name and renamed, so a killed run
# leaves no truncated .wav; .wav files of OUTDIR/<lang>/ that this run did not
# write are removed. Called by `make prompts`.
set -eu

REF_ALPHABET=23456789ABCDEFGHJKLMNPQRSTUVWXYZ
SPEED=150
SILENCE_MS=150

die() {
	echo "prompts: $*" >&2
	exit 1
}

[ $# -eq 3 ] || die "usage: config/prompts.sh OUTDIR TEXTS_DIR CONFIG_INI"
out=$1
texts=$2
config=$3
[ -d "$texts" ] || die "$texts: not a directory"
[ -r "$config" ] || die "$config: cannot read"
command -v espeak-ng >/dev/null 2>&1 ||
	die "espeak-ng not found: install it (deploy/install-deps.sh, or apt-get install espeak-ng)"

# Byte-wise text handling everywhere, whatever the caller's locale.
LC_ALL=C
export LC_ALL

tmp=""
list=""
cleanup() {
	[ -z "$tmp" ] || rm -f "$tmp"
	[ -z "$list" ] || rm -f "$list"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# le16 N / le32 N: N as little-endian bytes.
le16() {
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))"
}
le32() {
	le16 $(($1 & 65535))
	le16 $(($1 >> 16 & 65535))
}

# wav_rate FILE: prints the sample rate of a canonical 44-byte-header PCM
# 16-bit mono WAV (what espeak-ng writes); fails on anything else.
wav_rate() {
	# shellcheck disable=SC2046
	set -- $(od -An -v -tu1 -N44 "$1")
	[ $# -eq 44 ] || return 1
	# "RIFF" size "WAVE" "fmt " 16, PCM (1), mono (1)
	[ "$1 $2 $3 $4" = "82 73 70 70" ] || return 1
	shift 8
	[ "$1 $2 $3 $4 $5 $6 $7 $8 $9 ${10} ${11} ${12} ${13} ${14} ${15} ${16}" = \
		"87 65 86 69 102 109 116 32 16 0 0 0 1 0 1 0" ] || return 1
	shift 16
	r=$(($1 + $2 * 256 + $3 * 65536 + $4 * 16777216))
	shift 8
	# block align 2, 16 bits, "data"
	[ "$1 $2 $3 $4 $5 $6 $7 $8" = "2 0 16 0 100 97 116 97" ] || return 1
	echo "$r"
}

# speak LANG TEXT DEST. A lone letter or digit is read as its name (K: "kå" in
# Danish, "kay" in English); SSML's say-as would add half a second of pause
# that -z does not remove.
speak() {
	printf '%s' "$2" | espeak-ng -v "$1" -s "$SPEED" -z -b 1 --stdin -w "$3"
}

# silence DEST: SILENCE_MS of zero samples at $rate.
silence() {
	n=$((rate * SILENCE_MS / 1000)) # whole samples
	n=$((n * 2))
	{
		printf 'RIFF'
		le32 $((36 + n))
		printf 'WAVEfmt '
		le32 16
		le16 1
		le16 1
		le32 "$rate"
		le32 $((rate * 2))
		le16 2
		le16 16
		printf 'data'
		le32 "$n"
		dd if=/dev/zero bs="$n" count=1 2>/dev/null
	} >"$1"
}

# What to say, one line per file: NAME<TAB>MODE<TAB>TEXT, MODE "text" or
# "silence". Reads the [voice] section of a texts file, then the [area]
# sections of the configuration. INI as inih reads it: ';' or '#' starts a
# comment line, an indented line continues the previous value (joined with a
# space), a repeated key is joined too. Inline " ;" comments are stripped in the
# configuration only: texts may contain any punctuation.
plan() {
	awk -v alphabet="$REF_ALPHABET" '
	function trim(s) {
		sub(/^[ \t\r]+/, "", s)
		sub(/[ \t\r]+$/, "", s)
		return s
	}
	function add(name, mode, text) {
		if (name !~ /^[A-Za-z0-9_]+$/ || length(name) > 48) {
			printf "prompts: \"%s\" is not a prompt name ([A-Za-z0-9_], at most 48)\n",
			    name > "/dev/stderr"
			exit 1
		}
		if (name in seen) {
			printf "prompts: prompt \"%s\" would be written twice\n",
			    name > "/dev/stderr"
			exit 1
		}
		seen[name] = 1
		gsub(/\t/, " ", text)
		print name "\t" mode "\t" text
	}
	# A letter or digit: ASCII, or a UTF-8 lead byte outside Latin-1 punctuation
	# (C2) and general punctuation and symbols (E2).
	function speakable(s) {
		return s ~ /[A-Za-z0-9]/ || s ~ /[\303-\341\343-\364]/
	}
	function piece(name, text) {
		text = trim(text)
		add(name, speakable(text) ? "text" : "silence", text)
	}
	function value(key, v) {
		if (!(key in val)) {
			order[++n] = key
			val[key] = v
		} else if (key ~ /^a:/) {
			val[key] = v # like core/config.c: the last name wins
		} else if (v != "") {
			val[key] = val[key] == "" ? v : val[key] " " v
		}
	}
	FNR == 1 { infile++; section = ""; prev = "" }
	{
		line = $0
		sub(/\r$/, "", line)
		start = line
		sub(/^[ \t]+/, "", start)
		if (start == "" || start ~ /^[;#]/)
			next
		if (start != line && prev != "") {
			v = trim(start)
			if (infile == 2)
				sub(/[ \t];.*$/, "", v)
			value(prev, trim(v))
			next
		}
		if (start ~ /^\[/) {
			section = start
			sub(/^\[[ \t]*/, "", section)
			sub(/[ \t]*\].*$/, "", section)
			prev = ""
			if (infile == 2 && section ~ /^area[ \t]/) {
				id = section
				sub(/^area[ \t]+/, "", id)
				if (!(("a:" id) in val))
					value("a:" id, "") # unnamed: core/config.c names it by its id
			}
			next
		}
		eq = index(start, "=")
		if (eq == 0) {
			prev = ""
			next
		}
		k = trim(substr(start, 1, eq - 1))
		v = substr(start, eq + 1)
		if (infile == 2)
			sub(/[ \t];.*$/, "", v)
		v = trim(v)
		if (infile == 1 && section == "voice") {
			prev = "v:" k
			value(prev, v)
		} else if (infile == 2 && section ~ /^area[ \t]/ && k == "name") {
			prev = "a:" id
			value(prev, v)
		} else {
			prev = ""
		}
	}
	END {
		for (i = 1; i <= length(alphabet); i++) {
			c = substr(alphabet, i, 1)
			add("char_" c, "text", c)
		}
		for (i = 1; i <= n; i++) {
			key = order[i]
			text = val[key]
			if (key ~ /^a:/) {
				id = substr(key, 3)
				name = id
				gsub(/[-.]/, "_", name)
				piece("area_" name, text == "" ? id : text)
				continue
			}
			key = substr(key, 3)
			if (text !~ /\{[A-Za-z0-9_]+\}/) {
				piece(key, text)
				continue
			}
			j = 0
			while (match(text, /\{[A-Za-z0-9_]+\}/)) {
				piece(key "_" j++, substr(text, 1, RSTART - 1))
				text = substr(text, RSTART + RLENGTH)
			}
			piece(key "_" j, text)
		}
	}' "$1" "$2"
}

# The rate every file must have: what espeak-ng writes here.
tmp=$(mktemp "${TMPDIR:-/tmp}/prompts.XXXXXX")
printf 'a' | espeak-ng -v en -z -b 1 --stdin -w "$tmp" || die "espeak-ng failed"
rate=$(wav_rate "$tmp") || die "espeak-ng did not write 16-bit mono PCM WAV"
rm -f "$tmp"
tmp=""
list=$(mktemp "${TMPDIR:-/tmp}/prompts.XXXXXX")

tab=$(printf '\t')
found=0
for ini in "$texts"/*.ini; do
	[ -f "$ini" ] || continue
	found=1
	lang=${ini##*/}
	lang=${lang%.ini}
	case $lang in
	*[!a-z]* | "") die "$ini: language name must be lower-case letters" ;;
	esac
	dir=$out/$lang
	mkdir -p "$dir"
	plan "$ini" "$config" >"$list" || die "$ini: cannot plan prompts"
	count=0
	while IFS=$tab read -r name mode text; do
		dest=$dir/$name.wav
		tmp=$dir/.$name.wav.$$.tmp
		case $mode in
		silence) silence "$tmp" ;;
		*) speak "$lang" "$text" "$tmp" || die "$lang/$name: espeak-ng failed" ;;
		esac
		r=$(wav_rate "$tmp") || die "$lang/$name: espeak-ng did not write 16-bit mono PCM WAV"
		[ "$r" -eq "$rate" ] || die "$lang/$name: sample rate $r, expected $rate"
		mv -f "$tmp" "$dest"
		tmp=""
		count=$((count + 1))
	done <"$list"
	# Drop prompts whose text is gone, and temporaries of killed runs.
	for f in "$dir"/*.wav; do
		[ -e "$f" ] || continue
		name=${f##*/}
		name=${name%.wav}
		cut -f1 "$list" | grep -qxF -- "$name" || rm -f "$f"
	done
	for f in "$dir"/.*.wav.*.tmp; do
		[ -e "$f" ] || continue
		pid=${f%.tmp}
		pid=${pid##*.}
		kill -0 "$pid" 2>/dev/null || rm -f "$f"
	done
	echo "prompts: $lang: $count files in $dir" >&2
done
[ "$found" -eq 1 ] || die "$texts: no <lang>.ini files"

#!/usr/bin/env python3
"""Write a pool of pre-signed LINE webhook bodies for the wrk benchmark.

One line per body: base64(HMAC-SHA256(channel secret, body))<TAB>body<LF>, the body
being a one-line UTF-8 JSON delivery {"destination":"U...","events":[...]} with
--events-per-body events, as LINE's Messaging API sends them.

--mix replies (the default, what `make bench` sends): events that make the example
config (config/messages.yaml, richmenus.yaml, referral.yaml) answer, drawn per event:
  70 % message/text: 45 % a keyword of an auto-reply (every rule of messages.yaml: price,
       hours, estimate, documents, access, claims, cancel (1 h cooldown), jobs, property,
       referral campaign, thanks (sticker, 10 min cooldown), contact rep), 10 % a referral
       code ("紹介コード ABC123", a code nobody issued: the claim is refused with a reply),
       15 % free text that only the fallback auto-reply answers;
  10 % follow (greeting with {display_name}: a profile lookup, then a reply);
  20 % postback from the rich menu: 6 % action=refer (issues the user's referral code,
       replies the invite), 5 % action=my_referrals, 4 % action=contact_rep (replies),
       5 % action=switch&to=info|main (links a rich menu to the user; no reply).
So up to 95 % of events queue a reply (less the cooldowns' repeats: 94 % in a trial), 5 % a
rich-menu link.
--mix text: message/text events only, texts as a customer writes them (the old pool).

Every event gets its own webhookEventId, a 26-character ULID (10 characters of
millisecond time, 16 of "randomness"). The randomness part is a 30-bit pool prefix
(--prefix, or derived from --seed) followed by a scrambled 50-bit event counter, so ids
never repeat inside a pool, and pools made with different --seed/--prefix values never
share an id. Message ids are unique the same way. Everything else (users, texts, reply
and quote tokens) is drawn from a random.Random(--seed), so a pool is reproducible.

    gen_bodies.py --secret-file line-secret --events-per-body 5 --count 150000 \
        --seed 7 out.tsv
"""

import argparse
import base64
import hashlib
import hmac
import os
import random
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MASK50 = (1 << 50) - 1
SCRAMBLE = 0x2545F4914F6CD  # odd, so multiplication mod 2**50 is a bijection


def b32(n, width):
    out = []
    for _ in range(width):
        out.append(CROCKFORD[n & 31])
        n >>= 5
    return "".join(reversed(out))


def json_str(s):
    # The texts are fixed below; escape the few characters JSON needs, keep UTF-8.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


TEXTS = [
    "紹介コード {code}",
    "紹介コード {code} で登録しました",
    "こんにちは！紹介コード {code} を使いたいです",
    "予約の確認をお願いします。番号は {code} です",
    "友だちから紹介されました（コード：{code}）",
    "キャンペーンの詳細を教えてください",
    "明日の15時に伺います。よろしくお願いします。",
    "ありがとうございました🙏",
    "領収書を発行していただけますか？",
    "営業時間は何時までですか",
]


# --mix replies: a keyword of every auto-reply rule in config/messages.yaml (written as
# customers do, around the keyword), and free texts only the fallback answers.
KEYWORDS = [
    "料金はいくらですか", "プランの値段を教えて", "営業時間", "何時までですか", "見積もりをお願いします",
    "必要な書類は?", "持ち物を教えてください", "アクセス", "住所を教えてください", "事故にあいました",
    "保険金の請求をしたい", "解約したいです", "名義変更の手続き", "仕事を探しています", "転職の相談",
    "賃貸の物件を探しています", "引っ越しを考えています", "紹介キャンペーンについて", "特典はありますか",
    "ありがとう", "ありがとうございます", "担当者",
]
FREE = [
    "こんにちは", "明日の15時に伺います。よろしくお願いします。", "了解です", "またご連絡します",
    "ちょっと質問があります", "写真を送りました",
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--secret", help="LINE channel secret (as written in the secret file)")
    g.add_argument("--secret-file", help="file holding the channel secret")
    ap.add_argument("--events-per-body", type=int, default=1)
    ap.add_argument("--count", type=int, default=150000, help="number of bodies")
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed; also picks the id prefix (default: time-based)")
    ap.add_argument("--prefix", default=None,
                    help="6 Crockford base32 characters placed in every webhookEventId "
                         "(default: derived from the seed); pools must differ in it")
    ap.add_argument("--destination", default=None, help="bot user id (default: from seed)")
    ap.add_argument("--users", type=int, default=2000,
                    help="distinct senders (default 2000; a user's first event asks LINE for "
                         "the name, so fewer users means fewer profile lookups per event)")
    ap.add_argument("--mix", choices=("replies", "text"), default="replies",
                    help="event mix (see above; default: replies)")
    ap.add_argument("output", help="output path, '-' for stdout")
    a = ap.parse_args(argv)

    if a.secret_file:
        with open(a.secret_file, "rb") as f:
            secret = f.read().strip()
    else:
        secret = a.secret.encode()
    if a.events_per_body < 1 or a.count < 0 or a.users < 1:
        ap.error("--events-per-body and --users must be >= 1 and --count >= 0")
    seed = a.seed if a.seed is not None else time.time_ns()
    rng = random.Random(seed)
    if a.prefix is not None:
        prefix = a.prefix.upper()
        if len(prefix) != 6 or any(c not in CROCKFORD for c in prefix):
            ap.error("--prefix must be 6 Crockford base32 characters (0-9, A-Z less ILOU)")
    else:
        prefix = b32(int.from_bytes(hashlib.sha256(b"pool%d" % seed).digest()[:4], "big"), 6)
    # message ids: 18 digits, part of the pool prefix in the high digits, then the counter
    pval = 0
    for c in prefix:
        pval = pval * 32 + CROCKFORD.index(c)
    msg_base = 10**17 + (pval % 10**6) * 10**11

    destination = a.destination or "U%032x" % rng.getrandbits(128)
    users = ["U%032x" % rng.getrandbits(128) for _ in range(a.users)]
    texts = TEXTS
    keywords = KEYWORDS
    free = FREE
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    qt_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    mac0 = hmac.new(secret, digestmod=hashlib.sha256)
    b64 = base64.b64encode
    getrandbits = rng.getrandbits
    choice = rng.choice
    random_ = rng.random
    randrange = rng.randrange

    out = sys.stdout.buffer if a.output == "-" else open(a.output, "wb", buffering=1 << 20)
    now_ms = int(time.time() * 1000)
    n = 0
    lines = []
    for _ in range(a.count):
        evs = []
        for _ in range(a.events_per_body):
            ts = now_ms + n // 16  # ~16 events per ms, like a busy channel
            ulid = b32(ts, 10) + prefix + b32(((n + 1) * SCRAMBLE) & MASK50, 10)
            r = random_() if a.mix == "replies" else 0.0
            common = ('"webhookEventId":"%s","deliveryContext":{"isRedelivery":false},'
                      '"timestamp":%d,"source":{"type":"user","userId":"%s"},'
                      '"replyToken":"%032x","mode":"active"'
                      % (ulid, ts, choice(users), getrandbits(128)))
            if r >= 0.80:  # postback: 20 %
                if r >= 0.95:
                    data = "action=switch&to=" + choice(("info", "main"))
                elif r >= 0.91:
                    data = "action=contact_rep"
                elif r >= 0.86:
                    data = "action=my_referrals"
                else:
                    data = "action=refer"
                evs.append('{"type":"postback","postback":{"data":"%s"},%s}' % (data, common))
                n += 1
                continue
            if r >= 0.70:  # follow: 10 %
                evs.append('{"type":"follow","follow":{"isUnblocked":false},%s}' % common)
                n += 1
                continue
            if a.mix == "text":
                text = choice(texts)
            elif r < 0.45:
                text = choice(keywords)
            elif r < 0.55:
                text = "紹介コード {code}"
            else:
                text = choice(free)
            if "{code}" in text:
                code = choice(letters) + choice(letters) + choice(letters) + "%03d" % randrange(1000)
                text = text.replace("{code}", code)
            qt = "".join(qt_alphabet[(getrandbits(6))] for _ in range(22))
            evs.append(
                '{"type":"message","message":{"type":"text","id":"%d","quoteToken":"q3Plxr4AgKd%s",'
                '"text":%s},%s}' % (msg_base + n, qt, json_str(text), common))
            n += 1
        body = ('{"destination":"%s","events":[%s]}' % (destination, ",".join(evs))).encode()
        m = mac0.copy()
        m.update(body)
        lines.append(b64(m.digest()) + b"\t" + body + b"\n")
        if len(lines) >= 4096:
            out.write(b"".join(lines))
            lines.clear()
    out.write(b"".join(lines))
    if out is not sys.stdout.buffer:
        out.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)

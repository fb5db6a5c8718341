"""Which language a message with no Chinese in it is written in, by its letters alone.

The assistant works in Chinese. A resident who writes in English, Japanese,
Korean or Russian gets a short answer in that language saying so (the
Rasa component :mod:`backend.rasa_ext.other_languages` and the action
:mod:`actions.other_languages`), and the classifier, which knows Chinese
only, is not asked. The decision is made by script, deterministically:

- any kana (with enough of it: Chinese chat borrows の) is Japanese, any
  hangul Korean, any Cyrillic Russian;
- otherwise a message with one Chinese character is Chinese;
- Latin letters are English (the answer others get too) only when there
  are at least two real words (with a vowel: a keyboard mash is not a
  language) that are not pinyin and not the chat tokens residents type in
  Chinese conversations (ok, hi, thx, sb …);
- other alphabets (Arabic, Thai, Greek …) are ``other``.

What residents type besides words is never taken for a language: button
payloads (``/restart``), ticket numbers (GZ20261206-0001), redemption and
binding codes, phone numbers, web addresses and e-mail addresses.
"""

from __future__ import annotations

import re
from functools import lru_cache

ENGLISH = "en"
JAPANESE = "ja"
KOREAN = "ko"
RUSSIAN = "ru"
OTHER = "other"
LANGUAGES = (ENGLISH, JAPANESE, KOREAN, RUSSIAN, OTHER)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Arabic, Hebrew, Greek, Devanagari, Thai, Lao, Khmer, Georgian, Armenian, Myanmar.
_OTHER_SCRIPTS = re.compile(
    r"[\u0600-\u06ff\u0590-\u05ff\u0370-\u03ff\u0900-\u097f\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff"
    r"\u10a0-\u10ff\u0530-\u058f\u1000-\u109f]"
)
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
# A word of a language has a vowel; a keyboard mash (qwxz zzkq pfft) mostly has none.
_VOWEL = re.compile(r"[aeiouyà-æè-ïò-öù-ý]", re.IGNORECASE)
# What residents type that is not language: codes, numbers and addresses.
_NOT_WORDS = re.compile(
    r"[Gg][Zz]\s*-?\s*\d{8}\s*-?\s*\d{4}"  # ticket numbers
    r"|\bDH[A-Z0-9]{6}\b|\bR[0-9A-F]{4,6}\b|\bgm-[a-z]{2}-\d{2}\b"  # redemption, resident and member codes
    r"|https?://\S+|www\.\S+|\S+@\S+\.\S+"  # web and e-mail addresses
)
# Latin tokens of Chinese chat (and its pinyin abbreviations): they are not a foreign language.
CHAT_TOKENS = frozenset(
    "ok okay okk okok hi hii hey hello bye byebye bb thx thanks ty lol haha hh hhh yes yeah yep no nope nono "
    "sb nb nmsl cnm tmd wtf wc emm emmm em gg qq wx vx app wifi pm am tel tv id pdf nihao".split()
)
PINYIN_SYLLABLES = frozenset(
    """a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen
    ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong
    cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui
    dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua
    guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji
    jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua
    kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou
    lu luan lun luo lv lve lue ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai
    nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo nv nve nue o ou pa pai
    pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu
    quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha
    shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan
    sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei
    wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo
    yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi
    zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo""".split()
)
_LONGEST_SYLLABLE = max(map(len, PINYIN_SYLLABLES))


@lru_cache(maxsize=4096)
def is_pinyin(word: str) -> bool:
    """Whether ``word`` (letters only) splits into pinyin syllables: ``dianti``, ``huaile``, ``nihao``."""
    word = word.lower()
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST_SYLLABLE), end):
            if reachable[start] and word[start:end] in PINYIN_SYLLABLES:
                reachable[end] = True
                break
    return reachable[-1]


def _is_latin_language(text: str) -> bool:
    """Two or more words of a language in Latin letters (not chat tokens, not all pinyin)."""
    words = [w for w in _LATIN_WORD.findall(text) if len(w) >= 2 or w.lower() in {"i", "a"}]
    real = [w for w in words if w.lower() not in CHAT_TOKENS and _VOWEL.search(w)]
    if len(real) < 2 or sum(map(len, real)) < 6:
        return False
    return not all(is_pinyin(w) for w in real)


def language_of(text: str) -> str | None:
    """The language of a message that is not Chinese (one of :data:`LANGUAGES`); ``None`` for Chinese or no words.

    Args:
        text: the message as the resident sent it.

    Returns:
        ``en``, ``ja``, ``ko``, ``ru`` or ``other``; ``None`` when the message
        has Chinese in it, is a button payload, or is only numbers, codes,
        symbols, pinyin or chat tokens.
    """
    stripped = text.strip()
    if not stripped or stripped.startswith("/"):
        return None
    stripped = _NOT_WORDS.sub(" ", stripped)
    han = len(_HAN.findall(stripped))
    kana = len(_KANA.findall(stripped))
    if kana >= 2 and kana * 4 >= han:
        return JAPANESE
    if len(_HANGUL.findall(stripped)) >= 2:
        return KOREAN
    if han:
        return None
    if len(_CYRILLIC.findall(stripped)) >= 3:
        return RUSSIAN
    if len(_OTHER_SCRIPTS.findall(stripped)) >= 3:
        return OTHER
    if _is_latin_language(stripped):
        return ENGLISH
    return None

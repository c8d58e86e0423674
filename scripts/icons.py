#!/usr/bin/env python3
"""Draw each addon's Apps icon (``<addon>/static/description/icon.png``): WeCom's blue square with the two speech
bubbles, and for every addon but wecom_base a white badge in the lower right corner that says what it adds.

    python3 scripts/icons.py            # (re)draw the icons of the addons present (needs Pillow)
"""

import os

from PIL import Image, ImageDraw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE, SCALE = 256, 4  # drawn 4 times larger, then reduced: smooth edges
BLUE, WHITE = (17, 140, 255), (255, 255, 255)
BADGES = {  # addon -> (badge colour, glyph)
    "wecom_auth": ((0, 168, 112), "key"),
    "wecom_hr": ((242, 140, 40), "people"),
    "wecom_mail": ((124, 77, 255), "bell"),
    "wecom_approval": ((0, 150, 136), "check"),
    "wecom_approval_purchase": ((0, 150, 136), "cart"),
    "wecom_crm": ((233, 30, 99), "person_plus"),
    "wecom_crm_lead": ((233, 30, 99), "check"),
}


def s(*values):
    return [v * SCALE for v in values]


def bubbles(draw):
    draw.rounded_rectangle(s(8, 8, 248, 248), radius=40 * SCALE, fill=BLUE)
    draw.ellipse(s(46, 64, 168, 152), fill=WHITE)
    draw.polygon(s(66, 140, 58, 196, 102, 162), fill=WHITE)
    draw.ellipse(s(102, 100, 212, 188), fill=BLUE)
    draw.ellipse(s(110, 108, 206, 182), fill=WHITE)


def glyph(draw, name, cx, cy, colour):
    def line(*points, width=9):
        draw.line(s(*points), fill=colour, width=width * SCALE, joint="curve")

    if name == "key":
        draw.ellipse(s(cx - 26, cy - 14, cx - 2, cy + 10), outline=colour, width=8 * SCALE)
        line(cx - 3, cy - 2, cx + 28, cy - 2)
        line(cx + 22, cy - 2, cx + 22, cy + 12)
        line(cx + 12, cy - 2, cx + 12, cy + 9)
    elif name == "people":
        for dx, r in ((-12, 9), (12, 9)):
            draw.ellipse(s(cx + dx - r, cy - 22, cx + dx + r, cy - 22 + 2 * r), fill=colour)
            draw.pieslice(s(cx + dx - 16, cy - 2, cx + dx + 16, cy + 30), 180, 360, fill=colour)
    elif name == "bell":
        draw.pieslice(s(cx - 20, cy - 24, cx + 20, cy + 16), 180, 360, fill=colour)
        draw.rectangle(s(cx - 20, cy - 4, cx + 20, cy + 10), fill=colour)
        draw.polygon(s(cx - 26, cy + 14, cx + 26, cy + 14, cx + 20, cy + 6, cx - 20, cy + 6), fill=colour)
        draw.ellipse(s(cx - 7, cy + 14, cx + 7, cy + 26), fill=colour)
    elif name == "check":
        line(cx - 22, cy, cx - 6, cy + 16, cx + 24, cy - 16, width=11)
    elif name == "cart":
        line(cx - 28, cy - 18, cx - 18, cy - 18, cx - 10, cy + 8, cx + 20, cy + 8, cx + 26, cy - 10, cx - 14, cy - 10)
        for dx in (-6, 16):
            draw.ellipse(s(cx + dx - 6, cy + 14, cx + dx + 6, cy + 26), fill=colour)
    elif name == "person_plus":
        draw.ellipse(s(cx - 22, cy - 22, cx - 2, cy - 2), fill=colour)
        draw.pieslice(s(cx - 30, cy + 2, cx + 6, cy + 36), 180, 360, fill=colour)
        line(cx + 18, cy - 16, cx + 18, cy + 8)
        line(cx + 6, cy - 4, cx + 30, cy - 4)


def icon(badge=None):
    image = Image.new("RGBA", (SIZE * SCALE, SIZE * SCALE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    bubbles(draw)
    if badge:
        colour, name = badge
        cx, cy, r = 196, 196, 50
        draw.ellipse(s(cx - r - 6, cy - r - 6, cx + r + 6, cy + r + 6), fill=WHITE)
        draw.ellipse(s(cx - r, cy - r, cx + r, cy + r), fill=colour)
        glyph(draw, name, cx, cy, WHITE)
    return image.resize((SIZE, SIZE), Image.LANCZOS)


def main():
    for addon in sorted(os.listdir(REPO)):
        if not os.path.isfile(os.path.join(REPO, addon, "__manifest__.py")):
            continue
        folder = os.path.join(REPO, addon, "static", "description")
        os.makedirs(folder, exist_ok=True)
        icon(BADGES.get(addon)).save(os.path.join(folder, "icon.png"), optimize=True)
        print(f"{addon}/static/description/icon.png")


if __name__ == "__main__":
    main()

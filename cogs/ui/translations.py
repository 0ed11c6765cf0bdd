"""Command descriptions in Discord's other locales (Discord shows each member their own language).

Command and option names stay English everywhere: they are the public contract (docs/design.md) and
what members share with each other. Descriptions are translated where a table below has them; any
string without a translation falls back to the English source, which is complete. To add a language,
add a table keyed by the exact English description (tests/cogs/test_translations.py checks that every
key is a description the bot really registers, and that translations fit Discord's 100 characters).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import discord
from discord import app_commands

_TRANSLATED_LOCATIONS = frozenset(
    {
        app_commands.TranslationContextLocation.command_description,
        app_commands.TranslationContextLocation.group_description,
        app_commands.TranslationContextLocation.parameter_description,
    }
)

GERMAN: Mapping[str, str] = MappingProxyType(
    {
        "Make AI videos": "KI-Videos erstellen",
        "Make a video from a text prompt": "Ein Video aus einer Textbeschreibung erstellen",
        "Bring an image to life": "Ein Bild zum Leben erwecken",
        "Your recent and running videos": "Deine letzten und laufenden Videos",
        "Cancel a video that is still waiting in line (refunded)": (
            "Ein Video abbrechen, das noch in der Warteschlange ist (wird erstattet)"
        ),
        "What this bot does, its commands, the prices here and your balance": (
            "Was dieser Bot kann, seine Befehle, die Preise hier und dein Guthaben"
        ),
        "What should happen in the video": "Was im Video passieren soll",
        "What the image should do": "Was das Bild tun soll",
        "Video credits": "Video-Guthaben",
        "How many credits you (or, for moderators, a member) have": (
            "Wie viel Guthaben du (oder, für Moderatoren, ein Mitglied) hast"
        ),
        "What each model costs in this server": "Was jedes Modell auf diesem Server kostet",
        "Server events": "Server-Events",
        "Set up the video bot here": "Den Video-Bot hier einrichten",
    }
)

FRENCH: Mapping[str, str] = MappingProxyType(
    {
        "Make AI videos": "Créer des vidéos par IA",
        "Make a video from a text prompt": "Créer une vidéo à partir d'un texte",
        "Bring an image to life": "Donner vie à une image",
        "Your recent and running videos": "Tes vidéos récentes et en cours",
        "Cancel a video that is still waiting in line (refunded)": (
            "Annuler une vidéo encore en file d'attente (remboursée)"
        ),
        "What this bot does, its commands, the prices here and your balance": (
            "Ce que fait ce bot, ses commandes, les prix ici et ton solde"
        ),
        "What should happen in the video": "Ce qui doit se passer dans la vidéo",
        "What the image should do": "Ce que l'image doit faire",
        "Video credits": "Crédits vidéo",
        "How many credits you (or, for moderators, a member) have": (
            "Combien de crédits tu as (ou, pour les modérateurs, un membre)"
        ),
        "What each model costs in this server": "Le prix de chaque modèle sur ce serveur",
        "Server events": "Événements du serveur",
        "Set up the video bot here": "Configurer le bot vidéo ici",
    }
)

TRANSLATIONS: Mapping[discord.Locale, Mapping[str, str]] = MappingProxyType(
    {discord.Locale.german: GERMAN, discord.Locale.french: FRENCH}
)


class CommandTranslator(app_commands.Translator):
    """Looks descriptions up in `TRANSLATIONS`; everything else stays English."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The translation of a description, or ``None`` (Discord then shows the English text)."""
        if context.location not in _TRANSLATED_LOCATIONS:
            return None
        return TRANSLATIONS.get(locale, {}).get(string.message)

"""Typed keys for what the gateway keeps on its aiohttp app."""
import aiohttp
from aiohttp import web

from bot.rasa_client import RasaClient
from motcua.settings import Settings
from motcua.store import Database

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)

"""Typed keys for what the gateway keeps on its aiohttp app."""
import aiohttp
from aiohttp import web
from telegram import Bot

from bot.rasa_client import RasaClient
from motcua.settings import Settings
from motcua.store import Database
from motcua.store.case_source import CaseSource
from motcua.store.receipt_writer import ReceiptWriter

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
# What the platforms accepted, written the moment they do (sent once).
RECEIPTS = web.AppKey("receipts", ReceiptWriter)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
CASES = web.AppKey("cases", CaseSource)
TELEGRAM = web.AppKey("telegram", Bot)

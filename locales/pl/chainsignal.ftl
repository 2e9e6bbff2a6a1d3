# Chainsignal, polski. Każde zdanie widoczne dla użytkownika jest tutaj i w ../en.

## Komendy: jednozdaniowa pomoc (także opisy komend na Discordzie i Telegramie)
cmd-start = Start: powitanie i lista komend
cmd-help = Pokaż komendy i sposób ich użycia
cmd-report = Raport rynkowy: cena, zmiana 24h / 3D / 7D, ATR 3D / 7D
cmd-lang = Zmień język tego czatu (en, pl)
arg-symbols = [symbole…]
arg-lang = en|pl

## demo
demo-banner = Demo Chainsignal: ceny syntetyczne (dane demonstracyjne, nie rynkowe), tymczasowa baza danych. Wpisz /help, aby zobaczyć komendy; koniec wejścia (Ctrl-D) kończy.

## /start
start-greeting = Cześć { $name }! Jestem Chainsignal: raporty rynkowe dla traderów kryptowalut, prosto w tym czacie.
start-greeting-anonymous = Cześć! Jestem Chainsignal: raporty rynkowe dla traderów kryptowalut, prosto w tym czacie.

## /help
help-title = Komendy Chainsignal
help-symbols = Symbole można pisać jako btc, BTC, BTCUSDT lub BTC/USDT. Bez symboli /report używa listy obserwowanych.

## /report
report-title = Raport rynkowy
report-title-demo = Raport rynkowy (dane demonstracyjne)
report-col-symbol = Symbol
report-col-close = Cena
report-col-24h = 24h
report-col-3d = 3D
report-col-7d = 7D
report-col-atr3 = ATR 3D
report-col-atr7 = ATR 7D
report-source-binance = Binance
report-source-demo = dane demonstracyjne (ceny syntetyczne, nie rynkowe)
report-footer = Źródło: { $source } · { $time } UTC
report-not-included = Pominięte:
report-no-rows = Nie udało się przygotować raportu dla żadnego symbolu.
report-too-many-symbols = Najwyżej { $max } symboli w jednym raporcie.
action-refresh = Odśwież

## Dlaczego symbolu nie ma w raporcie
symbol-invalid = „{ $symbol }” nie jest symbolem. Napisz np. btc, BTCUSDT lub BTC/USDT.
symbol-unknown = { $symbol }: giełda nie notuje tego symbolu.
symbol-rate-limited = { $symbol }: giełda ogranicza liczbę zapytań; spróbuj za minutę.
symbol-timeout = { $symbol }: giełda nie odpowiedziała na czas.
symbol-exchange-unavailable = { $symbol }: giełda jest teraz niedostępna.
symbol-exchange-rejected = { $symbol }: giełda odrzuciła zapytanie.
symbol-invalid-data = { $symbol }: giełda przysłała nieczytelne dane.
symbol-insufficient-history = { $symbol }: za krótka historia cen.

## /lang
lang-set = Język tego czatu: polski.
lang-usage = Użycie: /lang en lub /lang pl. Obecny język: { $current }.
lang-name-en = angielski
lang-name-pl = polski

## Błędy
error-unknown-command = Nieznana komenda /{ $command }. Wyślij /help, aby zobaczyć listę.
error-not-a-command = To nie jest komenda. Wyślij /help, aby zobaczyć listę.
error-too-long = Ta wiadomość jest za długa jak na komendę.
error-internal = Coś poszło nie tak po naszej stronie. Zapisaliśmy to w logach; spróbuj ponownie później.

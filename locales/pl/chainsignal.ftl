# Chainsignal, polski. Każde zdanie widoczne dla użytkownika jest tutaj i w ../en.

## Komendy: jednozdaniowa pomoc (także opisy komend na Discordzie i Telegramie)
cmd-start = Start: powitanie i lista komend
cmd-help = Pokaż komendy i sposób ich użycia
cmd-report = Raport rynkowy: cena, zmiana 24h / 3D / 7D, ATR 3D / 7D
cmd-lang = Zmień język tego czatu (en, pl)

## demo
demo-banner = Demo Chainsignal: ceny syntetyczne (dane demonstracyjne, nie rynkowe), tymczasowa baza danych i harmonogram demonstracyjny, który co pełną minutę publikuje tu raport. Wpisz /help, aby zobaczyć komendy; koniec wejścia (Ctrl-D) kończy.

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
symbol-too-many = { $symbol }: pominięty, najwyżej { $max } symboli w jednym raporcie.

## /summary
cmd-summary = Podsumowanie rynku w języku czatu: trend, zmienność, liderzy, sygnały
summary-title-ai = Podsumowanie rynku (AI)
summary-title-rules = Podsumowanie rynku (regułowe, nie AI)
summary-model = model { $model }
summary-nfa = To nie jest porada inwestycyjna.
summary-ai-unavailable = AI jest teraz niedostępne; to podsumowanie wyliczono z liczb.
summary-ai-timeout = AI nie odpowiedziało na czas; to podsumowanie wyliczono z liczb.
summary-cooldown = Jedno podsumowanie AI na minutę: spróbuj ponownie za { $seconds } s.
summary-budget-user = Dzisiejszy limit AI został wykorzystany; odnowi się o 00:00 UTC. /report działa dalej.
summary-budget-total = Dzisiejszy limit AI dla wszystkich został wykorzystany; odnowi się o 00:00 UTC. /report działa dalej.
summary-trend-up = Trend: wzrostowy, średnio { $day } w 24 godziny i { $week } w 7 dni.
summary-trend-down = Trend: spadkowy, średnio { $day } w 24 godziny i { $week } w 7 dni.
summary-trend-sideways = Trend: boczny, średnio { $day } w 24 godziny i { $week } w 7 dni.
summary-trend-mixed = Trend: niejednoznaczny, średnio { $day } w 24 godziny, ale { $week } w 7 dni.
summary-volatility-low = Zmienność: niska (średni dzienny ATR 7D { $atr }).
summary-volatility-moderate = Zmienność: umiarkowana (średni dzienny ATR 7D { $atr }).
summary-volatility-high = Zmienność: wysoka (średni dzienny ATR 7D { $atr }).
summary-movers = Najsilniejszy w 24h: { $best } { $best_change }; najsłabszy: { $worst } { $worst_change }.
summary-signals = Ruchy ponad zwykły zakres (zmiana 24h większa niż ATR 3D): { $symbols }.
summary-signals-none = Brak ruchów ponad zwykły zakres (ATR 3D).
ai-system-prompt = Jesteś zwięzłym analitykiem rynku kryptowalut. Pisz po polsku, zwykłym tekstem bez Markdown, najwyżej 8 zdań. Omów ogólny trend, zmienność, wyróżniające się symbole i możliwe sygnały, korzystając wyłącznie z podanych liczb. Nie wymyślaj liczb i nie udzielaj porad inwestycyjnych.
ai-user-prompt = Raport rynkowy z { $time } UTC, źródło { $source }. Dla każdego symbolu: ostatnia cena zamknięcia, zmiana procentowa w 24 godziny, 3 dni i 7 dni oraz ATR z 3 i 7 dni jako procent ceny.
    { $table }

## /subscribe, /unsubscribe
cmd-subscribe = Otrzymuj w tym czacie raporty planowe lub alerty rynkowe (administratorzy czatu)
cmd-unsubscribe = Wyłącz raporty planowe lub alerty w tym czacie (administratorzy czatu)
subscribe-usage = Użycie: /subscribe reports lub /subscribe alerts; /unsubscribe [reports|alerts].
subscribed-reports = Ten czat będzie otrzymywać planowe raporty rynkowe.
subscribed-alerts = Ten czat będzie otrzymywać alerty rynkowe.
already-subscribed-reports = Ten czat już otrzymuje planowe raporty rynkowe.
already-subscribed-alerts = Ten czat już otrzymuje alerty rynkowe.
unsubscribed = Gotowe: ten czat nie będzie ich już otrzymywać.
not-subscribed = Ten czat nie był zapisany.
permission-chat-admin = Tylko administratorzy czatu (lub administratorzy bota) mogą to zrobić.
permission-bot-admin = Tylko administratorzy bota mogą to zrobić.

## /schedule
cmd-schedule = Raporty planowe: lista, dodawanie, usuwanie, zmiana nazwy (administratorzy bota)
schedule-usage = Użycie: /schedule list; /schedule add NAZWA MIN GODZ DZIEŃ MIESIĄC DZIEŃ_TYG STREFA [report|summary|report+summary] [symbole…], np. /schedule add wieczor 0 20 * * * Europe/Warsaw; /schedule remove NAZWA.
schedule-title = Raporty planowe
schedule-line = { $name }: { $cron } ({ $zone }), { $kind }, { $symbols }; następny { $next }; { $origin }
schedule-watchlist = lista obserwowanych
schedule-from-config = z pliku konfiguracyjnego
schedule-from-chat = dodany w czacie
schedule-footer = Teraz: { $time } UTC
schedule-none = Brak harmonogramów.
schedule-added = Dodano harmonogram { $name }; następne uruchomienie { $next } ({ $zone }).
schedule-removed = Usunięto harmonogram { $name }.
schedule-exists = Harmonogram o nazwie { $value } już istnieje.
schedule-unknown = Nie ma harmonogramu o nazwie { $value }.
schedule-in-config = Harmonogram { $value } pochodzi z pliku konfiguracyjnego; zmień go tam.
schedule-bad-name = To nie może być nazwa harmonogramu: tylko litery, cyfry, - i _, najwyżej 32 znaki (wielkość liter bez znaczenia).
schedule-bad-cron = „{ $value }” nie jest wyrażeniem cron: pięć pól, minuta godzina dzień miesiąc dzień_tygodnia.
schedule-bad-zone = „{ $value }” nie jest strefą czasową; użyj nazwy takiej jak Europe/Warsaw.
schedule-cron-count = Harmonogram potrzebuje pięciu pól cron przed strefą czasową: minuta godzina dzień miesiąc dzień_tygodnia.
schedule-field-minute = minuta
schedule-field-hour = godzina
schedule-field-day = dzień
schedule-field-month = miesiąc
schedule-field-weekday = dzień tygodnia
schedule-cron-syntax = W polu „{ $field }” wartość „{ $value }” jest niepoprawna: użyj *, liczby, zakresu jak 1-5, listy jak 1,15 lub kroku jak */15.
schedule-cron-syntax-names = W polu „{ $field }” wartość „{ $value }” jest niepoprawna: użyj *, liczby lub nazwy ({ $names }), zakresu jak { $range }, listy lub kroku jak */2.
schedule-cron-digits = W polu „{ $field }” wartość „{ $value }” jest niepoprawna: liczby to same cyfry, jedna lub dwie (5 albo 05), bez znaku.
schedule-cron-range = W polu „{ $field }” wartość „{ $value }” jest poza zakresem: od { $min } do { $max }.
schedule-cron-backwards = W polu „{ $field }” wartość „{ $value }” jest niepoprawna: zakres idzie od mniejszej do większej wartości, np. 1-5.
schedule-cron-step = W polu „{ $field }” wartość „{ $value }” jest niepoprawna: krok po / to liczba od 1 do { $max }.
schedule-cron-never = „{ $value }” nigdy się nie uruchomi: żadna data nie pasuje do pól dnia i miesiąca.
schedule-kind-misplaced = „{ $value }” to rodzaj harmonogramu: podaj go raz, zaraz po strefie czasowej (report, summary lub report+summary).

## Posty planowe i alerty
scheduled-report-title = Raport planowy: { $name }
alert-move-up = { $symbol } wzrósł o { $change } w ostatniej godzinie, teraz { $price }.
alert-move-down = { $symbol } spadł o { $change } w ostatniej godzinie, teraz { $price }.
alert-volatility = { $symbol }: zmienność rośnie, ATR 3D { $atr3 } wobec ATR 7D { $atr7 }.
alert-title = Alert rynkowy
target-disabled = Cel postów planowych wyłączono po { $count } kolejnych odmowach: { $target }.

## /lang
lang-set = Język tego czatu: polski.
lang-usage = Użycie: /lang en lub /lang pl. Obecny język: { $current }.
lang-name-en = angielski
lang-name-pl = polski

## Błędy
error-unknown-command = Nieznana komenda /{ $command }. Wyślij /help, aby zobaczyć listę.
error-not-a-command = To nie jest komenda. Wyślij /help, aby zobaczyć listę.
error-too-long = Ta wiadomość jest za długa jak na komendę.
error-not-utf8 = Ta linia nie jest poprawnym tekstem UTF-8; niczego nie uruchomiono.
error-internal = Coś poszło nie tak po naszej stronie. Zapisaliśmy to w logach; spróbuj ponownie później.

## Commands v2: typed options, buttons, request ids, rate limits
usage-line = Użycie: { $usage }
option-missing = Brakuje „{ $option }”.
option-too-many = Za dużo argumentów: „{ $extra }” to więcej, niż komenda przyjmuje.
option-unknown-sub = „{ $given }” nie jest jedną z akcji tej komendy.
option-unknown-name = Ta komenda nie ma opcji „{ $given }”.
option-repeated = „{ $option }” podano dwa razy.
option-bad-decimal = { $option }: „{ $given }” nie jest liczbą. Napisz np. 0.5 lub 250 (kropka dziesiętna, bez wykładnika).
option-decimal-comma = { $option }: „{ $given }” zawiera przecinek. Pisz ułamki z kropką i bez separatorów tysięcy, np. 1000.5.
option-not-positive = { $option }: „{ $given }” musi być większe od zera.
option-bad-integer = { $option }: „{ $given }” musi być liczbą całkowitą od { $min } do { $max }.
option-bad-choice = { $option }: „{ $given }” nie jest jednym z: { $choices }.
option-bad-duration = { $option }: „{ $given }” nie jest czasem trwania. Napisz np. 30s, 15m, 2h lub 7d (najwyżej { $max }).
option-bad-symbol = { $option }: „{ $given }” nie jest symbolem. Napisz np. btc, BTCUSDT lub BTC/USDT.
option-bad-user = { $option }: „{ $given }” nie jest użytkownikiem. Napisz @nazwa lub numer id albo odpowiedz na jego wiadomość.
option-too-long = { $option }: wartość jest za długa.
option-secret-in-public = { $option } jest tajne: podaj to tylko na prywatnym czacie z botem.
rate-limited = Zwolnij: spróbuj ponownie za { $seconds } s.
request-already-handled = To żądanie zostało już obsłużone.
button-confirm = Potwierdź
button-cancel = Anuluj
action-cancelled = Anulowano. Nic nie zostało zrobione.
action-already-done = To już zostało rozstrzygnięte; nic nie zrobiono ponownie.
action-not-yours = Ten przycisk jest dla osoby, która pytała.
action-expired = Ten przycisk wygasł. Uruchom komendę ponownie.
action-unknown = Ten przycisk nie jest już ważny.
option-symbols = Symbole, np. btc eth lub BTC/USDT; puste: lista obserwowanych
option-language = Język
option-subscription = Co otrzymywać: raporty (reports) lub alerty (alerts)
option-schedule-name = Nazwa harmonogramu (litery, cyfry, - i _)
option-schedule-definition = MIN GODZ DZIEŃ MIESIĄC DZIEŃ_TYG STREFA [report|summary|report+summary] [symbole…]
sub-schedule-list = Pokaż harmonogramy
sub-schedule-add = Dodaj zaplanowany raport
sub-schedule-remove = Usuń zaplanowany raport
schedule-remove-confirm = Usunąć harmonogram { $name } ({ $cron }, { $zone })? Jego posty ustaną.
sub-schedule-rename = Zmień nazwę zaplanowanego raportu
option-schedule-new-name = Nowa nazwa (litery, cyfry, - i _)
schedule-rename-confirm = Zmienić nazwę harmonogramu { $name } na { $new }?
schedule-renamed = Harmonogram { $name } nazywa się teraz { $new }.

## Telegram v2
# Prywatna odpowiedź (błąd, coś tylko dla jednej osoby) na pytanie w grupie, gdy bot nie
# może napisać do pytającego prywatnie. Nigdy nie zawiera prywatnej treści.
telegram-open-private = { $name }, mogę odpowiedzieć Ci tylko prywatnie: otwórz prywatny czat z @{ $bot }, naciśnij Start i zapytaj ponownie.
telegram-anonymous = Polecenia są dla osób piszących we własnym imieniu: anonimowi administratorzy i kanały nie mogą ich używać. Wyłącz „Pozostań anonimowy” albo napisz ze swojego konta.
option-start-payload = Parametr startowy (z linku)
option-help-command = Komenda do objaśnienia

## /keys
cmd-keys = Twoje klucze API giełd, zapieczętowane w sejfie
sub-keys-add = Dodaj klucz API giełdy (podawany prywatnie)
option-keys-exchange = Giełda: binance lub binance-testnet
option-keys-api-key = Klucz API
option-keys-secret = Sekret API
option-keys-label = Etykieta (domyślnie nazwa giełdy)
form-keys = Dodaj klucz API giełdy
keys-usage = Użycie: /keys add binance|binance-testnet [label=NAZWA], /keys list, /keys test [ETYKIETA], /keys remove ETYKIETA. O klucz API i sekret bot pyta prywatnie; na prywatnym czacie Telegrama: /keys add binance-testnet KLUCZ_API SEKRET.
keys-vault-disabled = Klucze giełd nie są tu włączone: operator nie skonfigurował klucza sejfu.
keys-private-only = Klucze giełd przyjmuję tylko na prywatnym czacie z botem. Otwórz go i wyślij tam /keys.
keys-missing-secrets = Potrzebne są i klucz API, i sekret. Na Telegramie: /keys add binance-testnet KLUCZ_API SEKRET na prywatnym czacie z botem.
keys-bad-secret = To nie wygląda na klucz API i sekret (po 8 do 256 znaków, bez spacji). Niczego nie zapisano.
keys-bad-label = Etykieta to najwyżej { $max } liter, cyfr, kropek, - lub _.
keys-label-taken = Masz już klucz z etykietą { $label }. Wybierz inną etykietę.
keys-added = Klucz { $label } dla { $exchange } zapisany i zapieczętowany: { $mask }.
sub-keys-list = Pokaż swoje klucze giełd (zamaskowane) i ich wiek
sub-keys-remove = Usuń klucz giełdy
sub-keys-test = Sprawdź zapisany klucz (lub każdy) ponownie na giełdzie
option-keys-label-of = Etykieta klucza
option-keys-label-test = Etykieta klucza (domyślnie każdy klucz)
keys-venue-live = prawdziwa
keys-venue-testnet = testowa
keys-none = Nie masz kluczy giełd. Dodaj klucz poleceniem /keys add binance-testnet.
keys-never-used = nigdy
keys-list-title = Twoje klucze giełd
keys-list-line = { $label } · { $exchange } ({ $venue }) · { $mask } · dodany { $added } · ostatnio użyty { $used } · wiek w dniach: { $age }
keys-list-old = ⚠ starszy niż { $max } dni: utwórz nowy klucz na giełdzie, dodaj go i usuń ten.
keys-unknown = Nie masz klucza z etykietą { $label }. Twoje klucze pokazuje /keys list.
keys-remove-confirm = Usunąć klucz { $label } ({ $exchange }, { $mask })? Zostanie zapomniany tutaj; usuń go też na giełdzie.
keys-removed = Klucz { $label } usunięty. Usuń go też na giełdzie.
keys-test-ok = Klucz { $label } ({ $mask }) działa.
keys-test-failed = Klucz { $label } ({ $mask }) został odrzucony:
keys-test-unopenable = Nie da się otworzyć klucza { $label } ({ $mask }): został zmieniony w bazie danych, należy do innego konta albo jego klucz sejfu nie jest już skonfigurowany. Usuń go i dodaj ponownie.
keys-invalid-key = Giełda odrzuciła klucz: nieprawidłowy klucz albo adres IP tego serwera nie jest dla niego dozwolony (Binance zgłasza oba przypadki tak samo). Sprawdź klucz i jego listę adresów IP. Niczego nie zapisano.
keys-bad-signature = Giełda odrzuciła podpis: sekret nie pasuje do tego klucza API. Niczego nie zapisano.
keys-ip-not-allowed = Klucz nie dopuszcza adresu IP tego serwera. Dodaj go do listy adresów IP klucza na giełdzie. Niczego nie zapisano.
keys-clock-skew = Zegar tego serwera za bardzo różni się od zegara giełdy. Operator powinien go zsynchronizować (NTP); potem spróbuj ponownie. Niczego nie zapisano.
keys-withdrawals-enabled = Klucz pozwala wypłacać środki: klucz do prawdziwej giełdy musi mieć wyłączone wypłaty. Wyłącz je na giełdzie i spróbuj ponownie. Niczego nie zapisano.
keys-no-ip-restriction = Klucz nie ma ograniczenia adresów IP: klucz do prawdziwej giełdy musi być ograniczony do zaufanych adresów. Ustaw listę adresów IP na giełdzie i spróbuj ponownie. Niczego nie zapisano.
keys-exchange-down = Giełda nie odpowiedziała poprawnie; nie udało się sprawdzić klucza. Spróbuj później. Niczego nie zapisano.
keys-rate-limited = Giełda prosi o zwolnienie tempa; nie udało się sprawdzić klucza. Spróbuj za minutę. Niczego nie zapisano.
keys-reminder-line = { $label } ({ $age } dni)
keys-reminder = Twoje klucze giełd starsze niż { $max } dni: { $keys }. Utwórz nowe klucze na giełdzie, dodaj je poleceniem /keys add i usuń stare poleceniem /keys remove.
keys-form-link = Otwórz ten jednorazowy link, aby podać klucz API i sekret dla { $exchange }. Działa raz, przez { $minutes } minut; nie udostępniaj go nikomu: { $url }
keys-form-title = Dodaj klucz API giełdy
keys-form-intro = Dla { $exchange }. Ta strona działa raz, jeszcze przez { $minutes } min. Klucz i sekret trafiają tylko do bota i są zapisywane zapieczętowane; nigdy nie pojawiają się na czacie.
keys-form-submit = Zapisz klucz
keys-form-gone = Ten link jest nieważny: mógł wygasnąć albo został już użyty. Wyślij /keys add na prywatnym czacie z botem, aby dostać nowy.
keys-form-csrf = Nie udało się zweryfikować formularza. Otwórz ponownie link z czatu i wyślij formularz z tamtej strony.
keys-form-bad = Nie udało się odczytać formularza. Otwórz ponownie link z czatu.
keys-form-done = Gotowe: odpowiedź jest też na czacie. Możesz zamknąć tę stronę.
keys-form-again = Ten link został już użyty. Wyślij /keys add { $exchange } na prywatnym czacie z botem, aby dostać nowy.
secret-message-deleted = Usunąłem Twoją wiadomość: była dla komendy, która przyjmuje sekrety.
secret-message-not-deleted = Twoja wiadomość może zawierać sekret, a nie mogłem jej usunąć: usuń ją sam teraz.
console-secret-prompt = { $label } (nie widać, co wpisujesz):
## Konta, role, zatwierdzanie (zgłoszenie 13)
access-blocked = Twój dostęp do tego bota jest zablokowany.
access-pending = Twój dostęp czeka na zatwierdzenie przez administratora. W tym czasie możesz używać /start, /help i /link.
access-unavailable = Bot jest chwilowo niedostępny. Spróbuj ponownie za chwilę.
access-approved = Twój dostęp został zatwierdzony: witaj! Wyślij /help, aby zobaczyć polecenia.
access-denied = Twoja prośba o dostęp została odrzucona.
permission-read-only = Twoje konto jest tylko do odczytu (obserwator): nie możesz niczego zmieniać.
permission-owner = Tylko właściciel bota może to zrobić.
cmd-link = Połącz swoje konta na Discordzie i Telegramie: /link pokazuje kod, /link KOD go używa
cmd-unlink = Odłącz tożsamość z tej platformy od swojego konta
cmd-whoami = Twoje konto, jego tożsamości i rola
cmd-admin = Polecenia administratora: status, users, approve, deny, block, unblock, role, audit, broadcast
option-link-code = Kod, który /link pokazał na Twojej drugiej platformie
option-admin-user = Osoba (użytkownik, @nazwa, numer id lub #konto)
option-admin-role-filter = Tylko konta z tą rolą
option-admin-role = Nowa rola
option-admin-page = Numer strony
option-admin-reason = Powód (widoczny tylko dla administratorów)
sub-admin-users = Lista kont: nazwa, platformy, rola, ostatnia aktywność
sub-admin-approve = Zatwierdź oczekującą osobę
sub-admin-deny = Odrzuć oczekującą osobę
sub-admin-block = Zablokuj osobę
sub-admin-unblock = Odblokuj osobę (zostaje traderem)
sub-admin-role = Nadaj osobie rolę (tylko właściciel mianuje administratorów)
sub-admin-keys = Klucze giełd wszystkich kont według wieku (tylko liczby)
admin-keys-title = Klucze giełd: { $total }
admin-keys-fresh = Młodsze niż { $half } dni
admin-keys-aging = Od { $half } do { $max } dni
admin-keys-old = { $max } dni lub starsze
admin-keys-live = Prawdziwa giełda (binance)
admin-keys-testnet = Giełda testowa (binance-testnet)
admin-keys-accounts = Konta z kluczami
admin-keys-accounts-old = Konta ze starymi kluczami
link-code = Twój kod łączenia: { $code }
    W ciągu { $minutes } minut wyślij /link { $code } na swojej drugiej platformie (Discord lub Telegram). Działa jeden raz.
link-done = Połączono: ta tożsamość należy teraz do konta { $account } ({ $platforms }).
link-same-account = Ten kod należy do Twojego własnego konta: nie ma czego łączyć.
link-both-own-data = Oba konta mają już własne dane (klucze giełdowe lub użycie AI), a niczego nie łączymy po cichu. Połącz z nowej, pustej tożsamości albo poproś administratora.
link-code-wrong = Ten kod jest nieprawidłowy. Jeszcze { $left } błędnych kodów zablokuje /link na 15 minut.
link-code-expired = Ten kod wygasł: uruchom /link na drugiej platformie, aby dostać nowy. Jeszcze { $left } błędnych kodów zablokuje /link na 15 minut.
link-code-used = Ten kod został już użyty: uruchom /link na drugiej platformie, aby dostać nowy. Jeszcze { $left } błędnych kodów zablokuje /link na 15 minut.
link-locked = Zbyt wiele błędnych kodów: /link jest zablokowane jeszcze przez { $minutes } min.
unlink-last = To jedyna tożsamość Twojego konta: nie ma od czego jej odłączać.
unlink-confirm = Odłączyć tę tożsamość ({ $platform }) od Twojego konta? Dostanie nowe, puste konto.
unlink-done = Odłączono: ta tożsamość ({ $platform }) to teraz konto { $account }.
whoami = Konto { $account }, rola: { $role }. Tożsamości:
button-approve = Zatwierdź
button-deny = Odrzuć
approval-request = Nowa osoba czeka na zatwierdzenie: { $name } na platformie { $platform }, konto { $account }.
approval-approved = { $name }: zatwierdzono (decyzja: { $by }).
approval-denied = { $name }: odrzucono (decyzja: { $by }).
approval-already-decided = Już rozstrzygnięte przez: { $by } ({ $name }).
admin-not-pending = { $name } nie czeka na zatwierdzenie.
admin-user-unknown = Nie znam nikogo o nazwie { $user }. Ta osoba musi najpierw użyć bota; możesz też podać jej #konto z /admin users.
admin-user-ambiguous = Więcej niż jedna osoba nazywa się { $user }: podaj jej #konto z /admin users.
admin-owner-fixed = { $name } jest właścicielem (z pliku konfiguracji): jego roli nie można zmienić z czatu.
admin-blocked = { $name }: zablokowano.
admin-unblocked = { $name }: odblokowano (rola: { $role }).
admin-not-blocked = { $name } nie jest zablokowany.
admin-role-set = { $name } ma teraz rolę { $role }.
admin-users-title = Konta, strona { $page } z { $pages } (razem { $total })
admin-users-line = { $account } { $name } · { $platforms } · { $role } · ostatnio { $seen } · pozycje { $positions } · klucze { $keys }
admin-users-none = Brak kont na tej stronie.
## Audyt i administracja (zadanie 13)
cmd-audit = Twoje ostatnie 20 działań na wszystkich platformach, z których korzystasz
sub-admin-status = Wersja, czas działania, baza danych, adaptery, harmonogramy, ostatnie błędy
sub-admin-audit = Dziennik audytu, od najnowszych (powyżej 20 wierszy w załączniku CSV)
sub-admin-broadcast = Wyślij wiadomość do wszystkich subskrybujących czatów (po potwierdzeniu)
option-admin-audit-user = Tylko działania tej osoby (@nazwa, id albo odpowiedź na jej wiadomość)
option-admin-audit-command = Tylko ta komenda, np. report
option-admin-audit-since = Jak daleko wstecz, np. 2h albo 7d (domyślnie 24h)
option-admin-audit-n = Najwyżej tyle wierszy (domyślnie 20)
option-admin-broadcast-text = Wiadomość do wysłania
audit-title = Twoje ostatnie działania
audit-none = Nic jeszcze nie zapisano.
audit-col-time = Czas (UTC)
audit-col-platform = Platforma
audit-col-command = Komenda
audit-col-outcome = Wynik
audit-footer-utc = Od najnowszych; czas UTC.
audit-outcome-ok = ok
audit-outcome-user-error = niezrozumiałe
audit-outcome-denied = odmowa
audit-outcome-failed = błąd
admin-audit-title = Audyt od { $since } UTC: { $count } wierszy
admin-audit-none = Żaden wiersz audytu nie pasuje.
admin-audit-col-who = Kto
admin-audit-attached = Pierwsze { $shown } z { $count } wierszy; wszystkie są w załączonym pliku CSV.
admin-audit-unknown-user = { $user } nigdy nie korzystał(a) z bota.
admin-audit-user-by-id = { $user }: nazwy użytkowników nie są przechowywane; podaj numeryczne id albo odpowiedz na jedną z jego wiadomości.
admin-status-title = Stan
admin-status-version = Wersja
admin-status-uptime = Czas działania
admin-status-database = Baza danych
admin-status-adapters = Adaptery
admin-status-ai-tokens = Tokeny AI dzisiaj
admin-status-positions = Otwarte pozycje
admin-status-approvals = Oczekujące zatwierdzenia
admin-status-connected = połączony
admin-status-disconnected = rozłączony
admin-status-schedules = Najbliższe zaplanowane uruchomienia:
admin-status-errors = Ostatnie błędy:
admin-broadcast-empty = Napisz wiadomość po /admin broadcast.
admin-broadcast-too-long = Wiadomość jest za długa: najwyżej { $max } znaków.
admin-broadcast-preview = Wysłać to do { $count } subskrybujących czatów?
admin-broadcast-queued = Ogłoszenie nr { $id } jest w drodze do { $count } czatów.
broadcast-title = Ogłoszenie

## Role names (shown in /whoami, /admin users, role changes)
role-owner = właściciel
role-admin = administrator
role-trader = trader
role-viewer = obserwator
role-pending = oczekujący
role-blocked = zablokowany

// Business days in Montréal: weekends and Québec's statutory holidays (Loi sur les normes du
// travail, computed for any year) are skipped. Dates are civil dates `YYYY-MM-DD`; times are
// placed in a time zone with Intl (no library).

/** Gregorian Easter Sunday (anonymous Gregorian algorithm). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return civil(year, month, day);
}

function civil(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}

/** Day of week of a civil date, 0 = Sunday. */
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The n-th (1-based) given weekday of a month. */
function nthWeekday(year: number, month: number, dow: number, n: number): string {
  const first = civil(year, month, 1);
  return addDays(first, ((dow - weekday(first) + 7) % 7) + 7 * (n - 1));
}

/** Québec statutory holidays of a year, date -> name. */
export function quebecHolidays(year: number): Map<string, string> {
  const easter = easterSunday(year);
  // Journée nationale des patriotes: the Monday before May 25.
  const may24 = civil(year, 5, 24);
  const patriotes = addDays(may24, -((weekday(may24) + 6) % 7));
  // June 24 and July 1 falling on a Sunday are observed on the Monday.
  const observed = (date: string) => (weekday(date) === 0 ? addDays(date, 1) : date);
  return new Map([
    [civil(year, 1, 1), "Jour de l'An"],
    [addDays(easter, -2), 'Vendredi saint'],
    [addDays(easter, 1), 'Lundi de Pâques'],
    [patriotes, 'Journée nationale des patriotes'],
    [observed(civil(year, 6, 24)), 'Fête nationale (Saint-Jean-Baptiste)'],
    [observed(civil(year, 7, 1)), 'Fête du Canada'],
    [nthWeekday(year, 9, 1, 1), 'Fête du Travail'],
    [nthWeekday(year, 10, 1, 2), 'Action de grâce'],
    [civil(year, 12, 25), 'Noël'],
  ]);
}

export function holidayName(date: string): string | undefined {
  return quebecHolidays(Number(date.slice(0, 4))).get(date);
}

export function isBusinessDay(date: string): boolean {
  const dow = weekday(date);
  return dow !== 0 && dow !== 6 && !holidayName(date);
}

/** The n-th business day after `date` (not counting `date`), and the holidays skipped on the way. */
export function addBusinessDays(date: string, n: number): { date: string; holidays: { date: string; name: string }[] } {
  const holidays: { date: string; name: string }[] = [];
  let d = date;
  for (let left = n; left > 0; ) {
    d = addDays(d, 1);
    const name = holidayName(d);
    if (name && weekday(d) !== 0 && weekday(d) !== 6) holidays.push({ date: d, name });
    if (isBusinessDay(d)) left--;
  }
  return { date: d, holidays };
}

/** The civil date of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** The instant of a civil date and wall-clock time in a time zone (DST-aware). */
export function zonedInstant(date: string, time: string, timeZone: string): Date {
  const asUtc = Date.parse(`${date}T${time}:00Z`);
  // The zone's offset at that moment, found by formatting; applied twice to settle across a DST change.
  let guess = asUtc;
  for (let i = 0; i < 2; i++) guess = asUtc - offsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

function offsetMs(instant: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - Math.floor(instant.getTime() / 1000) * 1000;
}

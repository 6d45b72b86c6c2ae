// examples/node/ledger_screen.js — what a municipal 児童手当 screen does with the ledger, in
// Node with node-postgres (Debian: node-pg; or `npm install pg`).
//
// Run:  node examples/node/ledger_screen.js
// Connection from the environment (PGHOST, PGPORT, PGDATABASE, PGUSER: the pooled application
// role, ledger_app in scripts/run.sh's sample; PGPASSWORD); the staff members from MNL_CLERK
// and MNL_EXAMINER (clerk_1, examiner_1).
//
// Every request is one transaction on a client taken from the pool, naming its staff member
// with set_config('role', $1, true) — SET LOCAL ROLE, with the name as a parameter — and the
// client goes back to the pool as the pooled role whatever happened (node-postgres has no
// reset hook: the transaction is the reset).
'use strict';
const { Pool } = require('pg');

const MUNICIPALITY = '131016'; // 千代田区 in the sample
const CLERK = process.env.MNL_CLERK || 'clerk_1';
const EXAMINER = process.env.MNL_EXAMINER || 'examiner_1';

// What the screen says for an error, by SQLSTATE (the message never holds a number).
const FOR_SCREEN = {
  '22P02': '個人番号に誤りがあります（検査用数字を確認してください）',
  '42501': 'この操作の権限がありません',
  '23505': 'この個人番号はすでに登録されています',
  '57P05': '一定時間操作がなかったため、再度ログインしてください',
};

const pool = new Pool({ max: 2 });

// One request: the staff member's identity for this transaction only.
async function asStaff(staff, work) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('role', $1, true)", [staff]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  } finally {
    client.release();
  }
}

async function one(client, sql, params) {
  const r = await client.query({ text: sql, values: params, rowMode: 'array' });
  return r.rows[0][0];
}

function check(ok, step) {
  console.log((ok ? 'ok ' : 'FAILED ') + step);
  if (!ok) process.exit(1);
}

// 1234 5678 9018 → full-width digits with an ideographic space, as typed at a counter.
function fullWidthWithSpaces(digits) {
  const w = [...digits].map((d) => String.fromCharCode('０'.charCodeAt(0) + Number(d))).join('');
  return [w.slice(0, 4), w.slice(4, 8), w.slice(8)].join('\u3000');
}

async function main() {
  const base = String(80000000000 + Math.floor(Math.random() * 900000000)).padStart(11, '0');
  const checkDigit = await asStaff(CLERK, (c) => one(c, 'SELECT ledger.mynumber_check_digit($1)', [base]));
  const typed = fullWidthWithSpaces(base + checkDigit);

  // 受付: enrol a person, the number typed in full width with spaces
  const personId = Number(await asStaff(CLERK, (c) => one(c,
    'SELECT ledger.enrol_person($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [MUNICIPALITY, 1, typed, '試験', '次郎', 'シケン', 'ジロウ', '2020-07-01', '東京都千代田区丸の内1-1'])));
  check(personId > 0, 'enrol_person with a full-width number');

  // 検索: by number (an untyped parameter, and a named prepared statement reused)
  for (let i = 0; i < 3; i++) {
    const found = Number(await asStaff(CLERK, (c) => c.query({
      name: 'find_person', text: 'SELECT ledger.find_person($1, $2)', values: [typed, MUNICIPALITY], rowMode: 'array',
    }).then((r) => r.rows[0][0])));
    if (found !== personId) check(false, 'find_person finds the person enrolled');
  }
  check(true, 'find_person($1, $2), a named prepared statement, three times');

  // 一覧: the masked list, under the clerk's row-level security
  const masked = await asStaff(CLERK, (c) => one(c,
    'SELECT mynumber_masked FROM ledger.person_masked WHERE municipality_code = $1 AND person_id = $2',
    [MUNICIPALITY, personId]));
  check(masked.length === 12 && masked.startsWith('********') && !masked.includes(base.slice(0, 8)),
    `the masked list shows ${masked} (ledger.mask_digits shows that many last digits)`);

  // 手当月額: one recipient's children, their amounts and reasons
  const rows = await asStaff(CLERK, (c) => c.query(
    'SELECT birth_order, band, amount, reason FROM ledger.monthly_amount($1, (SELECT min(recipient_id) FROM ledger.recipient), $2)',
    [MUNICIPALITY, '2026-12-01']).then((r) => r.rows));
  check(rows.length >= 1, `monthly_amount lists ${rows.length} child(ren) of a recipient`);

  // 番号の表示: the examiner, with a purpose (recorded before it answers)
  const revealed = await asStaff(EXAMINER, (c) => one(c,
    'SELECT ledger.reveal_person_number($1, $2, $3)', [MUNICIPALITY, personId, '認定審査']));
  check(revealed.length === 12 && revealed.endsWith(String(checkDigit)), 'reveal_person_number gives the 12 digits to the examiner');

  // errors by SQLSTATE: a wrong check digit, a clerk asking to reveal
  const wrong = base + String((checkDigit + 1) % 10);
  try {
    await asStaff(CLERK, (c) => one(c, 'SELECT ledger.find_person($1, $2)', [wrong, MUNICIPALITY]));
    check(false, 'a wrong check digit is refused');
  } catch (e) {
    check(e.code === '22P02' && !String(e.message).includes(wrong), `a wrong check digit: ${e.code} → ${FOR_SCREEN[e.code]}`);
  }
  try {
    await asStaff(CLERK, (c) => one(c, 'SELECT ledger.reveal_person_number($1, $2, $3)', [MUNICIPALITY, personId, '確認']));
    check(false, "a clerk's reveal is refused");
  } catch (e) {
    check(e.code === '42501', `a clerk's reveal: ${e.code} → ${FOR_SCREEN[e.code]}`);
  }

  // between requests every pooled client is the pooled role again
  const who = (await pool.query('SELECT current_user AS u')).rows[0].u;
  check(who === (process.env.PGUSER || 'ledger_app'), 'between requests the connection is ' + who);
  await pool.end();
  console.log('ledger_screen.js: every step passed');
}

main().catch((e) => {
  console.log('FAILED ' + (e.code || '') + ' ' + e.message);
  process.exit(1);
});

// examples/java/LedgerScreen.java — what a municipal 児童手当 screen does with the ledger, in Java
// with pgJDBC at its default settings (setString sends varchar; server-side prepared
// statements after five executions).
//
// Run (Debian: default-jdk-headless, libpostgresql-jdbc-java):
//   java -cp /usr/share/java/postgresql.jar examples/java/LedgerScreen.java
// Connection from the environment: PGHOST (a TCP host), PGPORT, PGDATABASE, PGUSER (the pooled
// application role, ledger_app in scripts/run.sh's sample), PGPASSWORD; the staff members from
// MNL_CLERK and MNL_EXAMINER (clerk_1, examiner_1).
//
// One connection stands for the pool: every request is one transaction that names its staff
// member with set_config('role', ?, true) — SET LOCAL ROLE, with the name as a parameter — so
// nothing of one request's identity is left for the next, whichever client the pool serves.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.Properties;
import java.util.Random;

public class LedgerScreen {
    static final String MUNICIPALITY = "131016";   // 千代田区 in the sample

    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** One request: the staff member's identity for this transaction only. */
    static <T> T asStaff(Connection c, String staff, Work<T> work) throws SQLException {
        c.setAutoCommit(false);
        try {
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('role', ?, true)")) {
                ps.setString(1, staff);
                ps.executeQuery().close();
            }
            T result = work.run(c);
            c.commit();
            return result;
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    /** What the screen says for an error, by SQLSTATE (the message never holds a number). */
    static String forScreen(SQLException e) {
        switch (String.valueOf(e.getSQLState())) {
            case "22P02": return "個人番号に誤りがあります（検査用数字を確認してください）";
            case "42501": return "この操作の権限がありません";
            case "23505": return "この個人番号はすでに登録されています";
            case "57P05": return "一定時間操作がなかったため、再度ログインしてください";
            default: return "エラーが発生しました（" + e.getSQLState() + "）";
        }
    }

    /** 1234 5678 9018 → full-width digits with an ideographic space, as typed at a counter. */
    static String fullWidthWithSpaces(String digits) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < digits.length(); i++) {
            if (i > 0 && i % 4 == 0) b.append('\u3000');
            b.append((char) ('０' + (digits.charAt(i) - '0')));
        }
        return b.toString();
    }

    static void check(boolean ok, String step) {
        if (!ok) {
            System.out.println("FAILED " + step);
            System.exit(1);
        }
        System.out.println("ok " + step);
    }

    public static void main(String[] args) throws Exception {
        String env = System.getenv().getOrDefault("PGPORT", "5439");
        String url = "jdbc:postgresql://" + System.getenv().getOrDefault("PGHOST", "localhost") + ":" + env + "/"
            + System.getenv().getOrDefault("PGDATABASE", "ledger");
        Properties props = new Properties();   // pgJDBC's defaults: no stringtype, no prepareThreshold
        props.setProperty("user", System.getenv().getOrDefault("PGUSER", "ledger_app"));
        if (System.getenv("PGPASSWORD") != null) props.setProperty("password", System.getenv("PGPASSWORD"));
        String clerk = System.getenv().getOrDefault("MNL_CLERK", "clerk_1");
        String examiner = System.getenv().getOrDefault("MNL_EXAMINER", "examiner_1");

        try (Connection c = DriverManager.getConnection(url, props)) {
            // 受付: enrol a person, the number typed in full width with spaces (a string parameter)
            String base = String.format("%011d", 60000000000L + new Random().nextInt(900000000));
            int checkDigit = asStaff(c, clerk, k -> {
                try (PreparedStatement ps = k.prepareStatement("SELECT ledger.mynumber_check_digit(?)")) {
                    ps.setString(1, base);
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getInt(1); }
                }
            });
            String typed = fullWidthWithSpaces(base + checkDigit);
            long personId = asStaff(c, clerk, k -> {
                try (PreparedStatement ps = k.prepareStatement(
                        "SELECT ledger.enrol_person(?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setString(1, MUNICIPALITY);
                    ps.setInt(2, 1);
                    ps.setString(3, typed);
                    ps.setString(4, "試験");
                    ps.setString(5, "太郎");
                    ps.setString(6, "シケン");
                    ps.setString(7, "タロウ");
                    ps.setObject(8, LocalDate.of(2018, 5, 1));
                    ps.setString(9, "東京都千代田区神田1-1");
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getLong(1); }
                }
            });
            check(personId > 0, "enrol_person with a full-width number as a varchar parameter");

            // 検索: by number, the string parameter resolving ledger.find_person(mynumber, text);
            // six times, so that pgJDBC has switched to a server-side prepared statement
            for (int i = 0; i < 6; i++) {
                long found = asStaff(c, clerk, k -> {
                    try (PreparedStatement ps = k.prepareStatement("SELECT ledger.find_person(?, ?)")) {
                        ps.setString(1, typed);
                        ps.setString(2, MUNICIPALITY);
                        try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getLong(1); }
                    }
                });
                if (found != personId) check(false, "find_person finds the person enrolled");
            }
            check(true, "find_person(?, ?) with setString, six times (server-side prepared)");

            // 一覧: the masked list, under the clerk's row-level security
            String masked = asStaff(c, clerk, k -> {
                try (PreparedStatement ps = k.prepareStatement(
                        "SELECT mynumber_masked FROM ledger.person_masked WHERE municipality_code = ? AND person_id = ?")) {
                    ps.setString(1, MUNICIPALITY);
                    ps.setLong(2, personId);
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getString(1); }
                }
            });
            check(masked.length() == 12 && masked.startsWith("********") && !masked.contains(base.substring(0, 8)),
                  "the masked list shows " + masked + " (ledger.mask_digits shows that many last digits)");

            // 手当月額: one recipient's children, their amounts and reasons
            int children = asStaff(c, clerk, k -> {
                try (PreparedStatement ps = k.prepareStatement(
                        "SELECT count(*), coalesce(sum(amount), 0) FROM ledger.monthly_amount(?, "
                        + "(SELECT min(recipient_id) FROM ledger.recipient), ?)")) {
                    ps.setString(1, MUNICIPALITY);
                    ps.setObject(2, LocalDate.of(2026, 12, 1));
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getInt(1); }
                }
            });
            check(children >= 1, "monthly_amount lists " + children + " child(ren) of a recipient");

            // 番号の表示: the examiner, with a purpose (recorded before it answers)
            String revealed = asStaff(c, examiner, k -> {
                try (PreparedStatement ps = k.prepareStatement("SELECT ledger.reveal_person_number(?, ?, ?)")) {
                    ps.setString(1, MUNICIPALITY);
                    ps.setLong(2, personId);
                    ps.setString(3, "認定審査");
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getString(1); }
                }
            });
            check(revealed.length() == 12 && revealed.endsWith(String.valueOf(checkDigit)),
                  "reveal_person_number gives the 12 digits to the examiner");

            // errors by SQLSTATE: a wrong check digit, a clerk asking to reveal
            String wrong = base + ((checkDigit + 1) % 10);
            try {
                asStaff(c, clerk, k -> {
                    try (PreparedStatement ps = k.prepareStatement("SELECT ledger.find_person(?, ?)")) {
                        ps.setString(1, wrong);
                        ps.setString(2, MUNICIPALITY);
                        ps.executeQuery().close();
                        return null;
                    }
                });
                check(false, "a wrong check digit is refused");
            } catch (SQLException e) {
                check("22P02".equals(e.getSQLState()) && !e.getMessage().contains(wrong),
                      "a wrong check digit: " + e.getSQLState() + " → " + forScreen(e));
            }
            try {
                asStaff(c, clerk, k -> {
                    try (PreparedStatement ps = k.prepareStatement("SELECT ledger.reveal_person_number(?, ?, ?)")) {
                        ps.setString(1, MUNICIPALITY);
                        ps.setLong(2, personId);
                        ps.setString(3, "確認");
                        ps.executeQuery().close();
                        return null;
                    }
                });
                check(false, "a clerk's reveal is refused");
            } catch (SQLException e) {
                check("42501".equals(e.getSQLState()), "a clerk's reveal: " + e.getSQLState() + " → " + forScreen(e));
            }

            // between requests the connection is the pooled role again, seeing nothing
            try (PreparedStatement ps = c.prepareStatement("SELECT current_user");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                check(rs.getString(1).equals(props.getProperty("user")), "between requests the connection is " + rs.getString(1));
            }
        }
        System.out.println("LedgerScreen: every step passed");
    }
}

/// The version every program prints for `-v`/`--version`.
public enum SecmodVersion {
    public static let string = "0.1.0"
}

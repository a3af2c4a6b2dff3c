import SecmodBase
/// The signed byte strings of the security-module signatures (wire.md §7): a
/// `GNUNET_CRYPTO_EccSignaturePurpose` header followed by the fields, exactly as the C
/// structs lay them out. Helpers sign these bytes; clients and the offline signer rebuild
/// them from what was announced and verify.
public enum SignaturePurpose {
    public static let smRsaDenominationKey: UInt32 = 1250
    public static let smSigningKey: UInt32 = 1251
    public static let smCsDenominationKey: UInt32 = 1252

    /// `TALER_SigningKeyAnnouncementPS`, 56 bytes (wire.md §7.1).
    public static func signingKeyAnnouncement(exchangePublicKey: [UInt8], anchor: Timestamp,
                                              duration: RelativeTime) -> [UInt8] {
        precondition(exchangePublicKey.count == 32)
        var w = ByteWriter(capacity: 56)
        w.u32(56)
        w.u32(smSigningKey)
        w.append(exchangePublicKey)
        w.u64(anchor.microseconds)
        w.u64(duration.microseconds)
        return w.bytes
    }

    /// `TALER_DenominationKeyAnnouncementPS`, 152 bytes (wire.md §7.2). `sectionNameHash` is the
    /// SHA-512 of the section name including its terminating NUL.
    public static func denominationKeyAnnouncement(purpose: UInt32, denominationHash: [UInt8],
                                                   sectionNameHash: [UInt8], anchor: Timestamp,
                                                   duration: RelativeTime) -> [UInt8] {
        precondition(denominationHash.count == 64 && sectionNameHash.count == 64)
        var w = ByteWriter(capacity: 152)
        w.u32(152)
        w.u32(purpose)
        w.append(denominationHash)
        w.append(sectionNameHash)
        w.u64(anchor.microseconds)
        w.u64(duration.microseconds)
        return w.bytes
    }
}

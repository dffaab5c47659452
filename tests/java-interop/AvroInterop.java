// Interop check (not product code), run as a single-file program: `java -cp <avro classpath> AvroInterop.java
// <schema.avsc> <datum.bin>`. Parses the schema with Apache Avro for Java (default values validated), decodes the
// datum, re-encodes it, and prints what the Rust side compares.
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

public class AvroInterop {
    public static void main(String[] args) throws Exception {
        Schema schema = new Schema.Parser().setValidateDefaults(true).parse(Files.readString(Path.of(args[0])));
        byte[] data = Files.readAllBytes(Path.of(args[1]));
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, null);
        Object value = new GenericDatumReader<Object>(schema).read(null, decoder);
        if (!decoder.isEnd()) {
            throw new IllegalStateException("bytes left after the datum");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<Object>(schema).write(value, encoder);
        encoder.flush();
        System.out.println("fingerprint=" + Long.toUnsignedString(SchemaNormalization.parsingFingerprint64(schema), 16));
        System.out.println("canonical=" + SchemaNormalization.toParsingForm(schema));
        System.out.println("reencoded=" + HexFormat.of().formatHex(out.toByteArray()));
        System.out.println("value=" + value);
    }
}

-- glassheap and the heap-twin helpers every suite uses (contrib modules: contrib.sql).
CREATE EXTENSION glassheap;

-- twin(stmt): run a statement on the heap twin (@@ -> h_) and the glassheap table
-- (@@ -> g_). Both must succeed or both fail the same way.
CREATE FUNCTION twin(stmt text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE replace(stmt, '@@', 'h_');
  EXECUTE replace(stmt, '@@', 'g_');
END $$;

-- twin_query(q): run a query on both twins and compare the result multisets (as text).
CREATE FUNCTION twin_query(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE a text[]; b text[];
BEGIN
  -- the alias is unlikely to collide with a column name: a column called like the
  -- alias would make "alias::text" mean that column instead of the whole row
  EXECUTE format('SELECT coalesce(array_agg(twin_row_::text ORDER BY twin_row_::text), ''{}'') FROM (%s) twin_row_', replace(q, '@@', 'h_')) INTO a;
  EXECUTE format('SELECT coalesce(array_agg(twin_row_::text ORDER BY twin_row_::text), ''{}'') FROM (%s) twin_row_', replace(q, '@@', 'g_')) INTO b;
  IF a = b THEN
    RETURN 'same (' || cardinality(a) || ' rows)';
  END IF;
  RETURN 'DIFFERENT: heap=' || a::text || ' glassheap=' || b::text;
END $$;

-- twin_tables(name): create h_<name> USING heap and g_<name> USING glassheap.
CREATE FUNCTION twin_tables(name text, columns text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I (%s) USING heap', 'h_' || name, columns);
  EXECUTE format('CREATE TABLE %I (%s) USING glassheap', 'g_' || name, columns);
END $$;

SELECT amname, amtype FROM pg_am WHERE amname = 'glassheap';

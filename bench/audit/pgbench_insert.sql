\set amount random(10000, 30000)
INSERT INTO :tab (municipality, name, amount, updated) VALUES ('131016', '受給者', :amount, current_date);
